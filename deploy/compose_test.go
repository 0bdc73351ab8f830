package deploy

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// composeFile is the part of the Compose specification these files use.
// It is decoded strictly: a misspelt key fails instead of being ignored.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]struct{}       `json:"volumes"`
	Secrets  map[string]struct {
		File string `json:"file"`
	} `json:"secrets"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build"`
	Restart     string            `json:"restart"`
	Environment map[string]string `json:"environment"`
	Ports       []string          `json:"ports"`
	Volumes     []string          `json:"volumes"`
	Secrets     []string          `json:"secrets"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Healthcheck *struct {
		Test     []string `json:"test"`
		Interval string   `json:"interval"`
		Timeout  string   `json:"timeout"`
		Retries  int      `json:"retries"`
	} `json:"healthcheck"`
}

// readCompose decodes a compose file, anchors and merge keys resolved, the
// x-* extension fields (the anchors' holders) dropped.
func readCompose(t *testing.T, file string) composeFile {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := yaml.Unmarshal(data, &top); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for k := range top {
		if strings.HasPrefix(k, "x-") {
			delete(top, k)
		}
	}
	j, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

// composeSetup is what one file must be.
type composeSetup struct {
	file    string
	engine  string         // WA_DB_ENGINE the wabiz services resolve to
	dbImage *regexp.Regexp // the database service's image, nil for SQLite
	roles   map[string]int // wabiz services by WABIZ_ROLE
}

func TestComposeFiles(t *testing.T) {
	t.Parallel()
	setups := []composeSetup{
		{file: "single.yaml", engine: "SQLITE", roles: map[string]int{"all": 1}},
		{file: "mysql.yaml", engine: "MYSQL", dbImage: regexp.MustCompile(`^mysql:(5\.7|8\.[0-9]+)$`), roles: map[string]int{"all": 1}},
		{file: "postgres.yaml", engine: "PGSQL", dbImage: regexp.MustCompile(`^postgres:(1[1-9]|[2-9][0-9])`), roles: map[string]int{"all": 1}},
		{file: "ha.yaml", engine: "PGSQL", dbImage: regexp.MustCompile(`^postgres:(1[1-9]|[2-9][0-9])`), roles: map[string]int{"web": 2, "core": 3}},
	}
	files, err := filepath.Glob("compose/*.yaml")
	if err != nil || len(files) != len(setups) {
		t.Fatalf("compose/ holds %v, want one file per setup (%d); a new file needs its checks here", files, len(setups))
	}
	imageEnv := runtimeStage(t).env(t)
	for _, s := range setups {
		t.Run(s.file, func(t *testing.T) {
			t.Parallel()
			checkComposeSetup(t, s, imageEnv)
		})
	}
}

func checkComposeSetup(t *testing.T, s composeSetup, imageEnv map[string]string) {
	c := readCompose(t, filepath.Join("compose", s.file))
	if c.Name == "" {
		t.Error("no project name")
	}
	roles := map[string]int{}
	nodeNames := map[string]string{}
	dataVolumes := map[string]string{}
	mediaVolumes := map[string]bool{}
	var dbServices []string
	for _, name := range sortedKeys(c.Services) {
		svc := c.Services[name]
		checkServiceReferences(t, c, name, svc)
		if !strings.HasPrefix(svc.Image, "wabiz:") {
			if s.dbImage == nil || !s.dbImage.MatchString(svc.Image) {
				t.Errorf("service %s: image %q is neither wabiz nor the setup's database", name, svc.Image)
			}
			if svc.Healthcheck == nil || len(svc.Healthcheck.Test) < 2 || svc.Healthcheck.Test[0] != "CMD" {
				t.Errorf("service %s: the database needs a health check for wabiz's depends_on", name)
			}
			dbServices = append(dbServices, name)
			continue
		}
		if svc.Image != "wabiz:latest" {
			t.Errorf("service %s: image %q, want wabiz:latest (what the build makes)", name, svc.Image)
		}
		if svc.Build == nil {
			t.Errorf("service %s: no build: compose would pull some wabiz:latest from a registry instead of building deploy/Dockerfile", name)
		} else {
			df := filepath.Join("compose", svc.Build.Context, svc.Build.Dockerfile)
			if filepath.Clean(filepath.Join("compose", svc.Build.Context)) != ".." || filepath.Clean(df) != filepath.Join("..", "deploy", "Dockerfile") {
				t.Errorf("service %s: builds %s in context %s, want deploy/Dockerfile in the repository's root", name, svc.Build.Dockerfile, svc.Build.Context)
			}
		}
		checkEnvNames(t, "service "+name, svc.Environment)
		env := map[string]string{}
		for k, v := range imageEnv {
			env[k] = v
		}
		for k, v := range svc.Environment {
			env[k] = v
		}
		cfg, err := loadConfig(env, secretFilesFor(t, env))
		if err != nil {
			t.Errorf("service %s: its environment does not load: %v", name, err)
			continue
		}
		roles[cfg.Role]++
		if cfg.DB.Engine != s.engine {
			t.Errorf("service %s: WA_DB_ENGINE resolves to %s, want %s", name, cfg.DB.Engine, s.engine)
		}
		if s.engine != "SQLITE" {
			if _, ok := c.Services[cfg.DB.Hostname]; !ok || cfg.DB.Hostname == name {
				t.Errorf("service %s: WA_DB_HOSTNAME %q is no database service of the file", name, cfg.DB.Hostname)
			}
			if dep, ok := svc.DependsOn[cfg.DB.Hostname]; !ok || dep.Condition != "service_healthy" {
				t.Errorf("service %s: does not wait for %s to be healthy", name, cfg.DB.Hostname)
			}
			if svc.Environment["WA_DB_PASSWORD"] != "" || svc.Environment["WA_DB_PASSWORD_FILE"] == "" {
				t.Errorf("service %s: the database password must come from a secret (WA_DB_PASSWORD_FILE)", name)
			}
			db := c.Services[cfg.DB.Hostname]
			if !sharesSecretFile(svc.Environment["WA_DB_PASSWORD_FILE"], svc, db) {
				t.Errorf("service %s: WA_DB_PASSWORD_FILE %s is not a secret it shares with %s", name, svc.Environment["WA_DB_PASSWORD_FILE"], cfg.DB.Hostname)
			}
		}
		if other, dup := nodeNames[cfg.NodeName]; dup && len(c.Services) > 2 {
			t.Errorf("services %s and %s share WABIZ_NODE_NAME %q", other, name, cfg.NodeName)
		}
		nodeNames[cfg.NodeName] = name

		mounts := volumeMounts(t, name, svc)
		dataVol, ok := mountFor(mounts, cfg.DataDir)
		if !ok {
			t.Errorf("service %s: the data directory %s is on no volume", name, cfg.DataDir)
		} else if other, dup := dataVolumes[dataVol]; dup {
			t.Errorf("services %s and %s share the data volume %s (each node keeps its own)", other, name, dataVol)
		}
		dataVolumes[dataVol] = name
		mediaVol, ok := mountFor(mounts, cfg.MediaDir())
		if !ok {
			t.Errorf("service %s: the media directory %s is on no volume", name, cfg.MediaDir())
		}
		mediaVolumes[mediaVol] = true

		checkPorts(t, name, svc, cfg.Role, cfg.Listen)
		if cfg.Role == "core" && cfg.CoreMonitorListen == "" {
			t.Errorf("service %s: a core node without WABIZ_CORE_MONITOR_LISTEN leaves the image's health check nothing to probe", name)
		}
		if cfg.APIKey == "" {
			t.Errorf("service %s: no WA_API_KEY(_FILE): the health check cannot read the gateway status", name)
		}
	}
	if len(mediaVolumes) > 1 {
		t.Errorf("the nodes mount %d media volumes; nodes sharing a database must share one", len(mediaVolumes))
	}
	if (s.dbImage == nil) != (len(dbServices) == 0) || len(dbServices) > 1 {
		t.Errorf("database services %v, want %s", dbServices, map[bool]string{true: "none", false: "one"}[s.dbImage == nil])
	}
	if !equalCounts(roles, s.roles) {
		t.Errorf("wabiz services by role %v, want %v", roles, s.roles)
	}
}

// checkServiceReferences: named volumes, secrets and dependencies exist.
func checkServiceReferences(t *testing.T, c composeFile, name string, svc composeService) {
	t.Helper()
	for _, v := range svc.Volumes {
		src, _, _ := strings.Cut(v, ":")
		if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
			if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s: volume %s is not declared", name, src)
			}
		}
	}
	for _, s := range svc.Secrets {
		sec, ok := c.Secrets[s]
		if !ok {
			t.Errorf("service %s: secret %s is not declared", name, s)
		} else if !strings.HasPrefix(sec.File, "./secrets/") {
			t.Errorf("secret %s: file %s, want it under ./secrets/ (kept out of git)", s, sec.File)
		}
	}
	for dep := range svc.DependsOn {
		if _, ok := c.Services[dep]; !ok {
			t.Errorf("service %s: depends on %s, which does not exist", name, dep)
		}
	}
	for k, v := range svc.Environment {
		if strings.HasSuffix(k, "_FILE") && strings.HasPrefix(v, "/run/secrets/") {
			if !contains(svc.Secrets, strings.TrimPrefix(v, "/run/secrets/")) {
				t.Errorf("service %s: %s=%s is no secret mounted in it", name, k, v)
			}
		}
	}
}

func sharesSecretFile(path string, a, b composeService) bool {
	secret, ok := strings.CutPrefix(path, "/run/secrets/")
	if !ok || !contains(a.Secrets, secret) || !contains(b.Secrets, secret) {
		return false
	}
	for _, v := range b.Environment {
		if v == path {
			return true
		}
	}
	return false
}

// volumeMounts maps each container path of svc to its volume.
func volumeMounts(t *testing.T, name string, svc composeService) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			t.Errorf("service %s: volume %q is not SOURCE:TARGET", name, v)
			continue
		}
		m[parts[1]] = parts[0]
	}
	return m
}

func mountFor(mounts map[string]string, dir string) (string, bool) {
	for target, src := range mounts {
		if underAny(dir, []string{target}) {
			return src, true
		}
	}
	return "", false
}

// checkPorts: a node with a listener publishes exactly its listener's
// port; a core node publishes nothing.
func checkPorts(t *testing.T, name string, svc composeService, role, listen string) {
	t.Helper()
	if role == "core" {
		if len(svc.Ports) > 0 {
			t.Errorf("service %s: a core node has no API listener, yet publishes %v", name, svc.Ports)
		}
		return
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.Ports) != 1 {
		t.Errorf("service %s: publishes %v, want the listener's port %s once", name, svc.Ports, port)
		return
	}
	parts := strings.Split(svc.Ports[0], ":")
	host, container := parts[0], parts[len(parts)-1]
	if container != port {
		t.Errorf("service %s: publishes container port %s, but wabiz listens on %s", name, container, port)
	}
	if n, err := strconv.Atoi(host); err != nil || n < 1 || n > 65535 {
		t.Errorf("service %s: host port %q is not a port", name, host)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
