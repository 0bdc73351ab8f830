package deploy

import (
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// manifests is every object of one deployment directory, decoded strictly
// into the Kubernetes API types: a field the API does not know fails.
type manifests struct {
	statefulSets []*appsv1.StatefulSet
	deployments  []*appsv1.Deployment
	services     []*corev1.Service
	claims       []*corev1.PersistentVolumeClaim
	budgets      []*policyv1.PodDisruptionBudget
}

func readManifests(t *testing.T, dir string) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no manifests (%v)", dir, err)
	}
	var m manifests
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			where := fmt.Sprintf("%s, document %d", file, i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 StatefulSet":
				o := &appsv1.StatefulSet{}
				m.statefulSets, obj = append(m.statefulSets, o), o
			case "apps/v1 Deployment":
				o := &appsv1.Deployment{}
				m.deployments, obj = append(m.deployments, o), o
			case "v1 Service":
				o := &corev1.Service{}
				m.services, obj = append(m.services, o), o
			case "v1 PersistentVolumeClaim":
				o := &corev1.PersistentVolumeClaim{}
				m.claims, obj = append(m.claims, o), o
			case "policy/v1 PodDisruptionBudget":
				o := &policyv1.PodDisruptionBudget{}
				m.budgets, obj = append(m.budgets, o), o
			default:
				t.Fatalf("%s: %s %s is not a kind this test decodes; add it here", where, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		}
	}
	return m
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// workload is a Deployment or StatefulSet, as far as the checks go.
type workload struct {
	kind, name string
	replicas   int32
	selector   *metav1.LabelSelector
	pod        corev1.PodTemplateSpec
	claims     []corev1.PersistentVolumeClaim // a StatefulSet's volumeClaimTemplates
}

func (m manifests) workloads() []workload {
	var ws []workload
	for _, s := range m.statefulSets {
		ws = append(ws, workload{"StatefulSet", s.Name, replicas(s.Spec.Replicas), s.Spec.Selector, s.Spec.Template, s.Spec.VolumeClaimTemplates})
	}
	for _, d := range m.deployments {
		ws = append(ws, workload{"Deployment", d.Name, replicas(d.Spec.Replicas), d.Spec.Selector, d.Spec.Template, nil})
	}
	return ws
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

type kubeSetup struct {
	dir    string
	engine string
	roles  map[string]int // pods by WABIZ_ROLE (replicas counted)
	// statefulSQLite: the SQLite node's data must be on a claim.
	statefulSQLite bool
}

func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	setups := []kubeSetup{
		{dir: "single", engine: "SQLITE", roles: map[string]int{"all": 1}, statefulSQLite: true},
		{dir: "ha", engine: "PGSQL", roles: map[string]int{"web": 2, "core": 3}},
	}
	dirs, _ := filepath.Glob("kubernetes/*")
	if len(dirs) != len(setups) {
		t.Fatalf("kubernetes/ holds %v, want one directory per setup (%d)", dirs, len(setups))
	}
	rt := runtimeStage(t)
	imageBin := binaryPath(t, rt, dockerBuild(t, nil).output)
	commands := subcommands(t)
	ops, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range setups {
		t.Run(s.dir, func(t *testing.T) {
			t.Parallel()
			checkKubeSetup(t, s, readManifests(t, filepath.Join("kubernetes", s.dir)), rt.env(t), imageBin, commands, string(ops))
		})
	}
}

func checkKubeSetup(t *testing.T, s kubeSetup, m manifests, imageEnv map[string]string, imageBin string, commands map[string]bool, ops string) {
	roles := map[string]int{}
	workloads := m.workloads()
	for _, w := range workloads {
		where := w.kind + " " + w.name
		sel, err := metav1.LabelSelectorAsSelector(w.selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(w.pod.Labels)) {
			t.Errorf("%s: the selector %v does not select its own pods %v", where, w.selector, w.pod.Labels)
		}
		pod := w.pod.Spec
		if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Errorf("%s: the pod must run as non-root (runAsNonRoot, runAsUser)", where)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%s: %d containers, want wabiz alone", where, len(pod.Containers))
		}
		c := pod.Containers[0]
		if !strings.HasPrefix(path.Base(c.Image), "wabiz:") {
			t.Errorf("%s: image %s is not wabiz's", where, c.Image)
		}
		if len(c.Command) > 0 && (len(c.Command) != 1 || c.Command[0] != imageBin) {
			t.Errorf("%s: command %v, want the image's entrypoint %s (or none)", where, c.Command, imageBin)
		}
		if len(c.Args) == 0 || c.Args[0] != "serve" {
			t.Errorf("%s: args %v, want [serve]", where, c.Args)
		}
		for _, a := range c.Args[:min(1, len(c.Args))] {
			if !commands[a] {
				t.Errorf("%s: %q is no wabiz subcommand", where, a)
			}
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			t.Errorf("%s: resource requests for cpu and memory are required", where)
		}
		mounts := mountsOf(t, where, pod, c, w.claims)
		env := envOf(t, where, c, mounts)
		merged := map[string]string{}
		for k, v := range imageEnv {
			merged[k] = v
		}
		for k, v := range env {
			merged[k] = v
		}
		cfg, err := loadConfig(merged, secretFilesFor(t, merged))
		if err != nil {
			t.Errorf("%s: its environment does not load: %v", where, err)
			continue
		}
		roles[cfg.Role] += int(w.replicas)
		if cfg.DB.Engine != s.engine {
			t.Errorf("%s: WA_DB_ENGINE resolves to %s, want %s", where, cfg.DB.Engine, s.engine)
		}
		if s.engine != "SQLITE" && !hasService(m, cfg.DB.Hostname) {
			t.Errorf("%s: WA_DB_HOSTNAME %q names no Service of the manifests", where, cfg.DB.Hostname)
		}
		for _, file := range []string{cfg.TLSCertFile, cfg.TLSKeyFile} {
			if file != "" && !mounts.fromSecret(file) {
				t.Errorf("%s: %s is not in a mounted Secret", where, file)
			}
		}
		checkSecretsDocumented(t, where, mounts, ops)
		for what, dir := range map[string]string{"data directory": cfg.DataDir, "media directory": cfg.MediaDir()} {
			if _, ok := mounts.volumeFor(dir); !ok {
				t.Errorf("%s: the %s %s is on no volume", where, what, dir)
			}
		}
		if media, _ := mounts.volumeFor(cfg.MediaDir()); s.engine != "SQLITE" {
			claim := mounts.claims[media]
			if claim == "" || !sharedClaim(m, claim) {
				t.Errorf("%s: the media directory must be on a ReadWriteMany claim of the manifests, all nodes share it (volume %s, claim %q)", where, media, claim)
			}
		}
		if s.statefulSQLite {
			if v, _ := mounts.volumeFor(filepath.Dir(cfg.SQLitePath())); !mounts.persistent[v] {
				t.Errorf("%s: the SQLite database %s is on no persistent claim", where, cfg.SQLitePath())
			}
			if w.kind != "StatefulSet" || w.replicas != 1 {
				t.Errorf("%s: SQLite takes one process: want a StatefulSet of 1", where)
			}
		}

		listen := cfg.Listen
		if cfg.Role == "core" {
			listen = cfg.CoreMonitorListen
			if listen == "" {
				t.Errorf("%s: a core node needs WABIZ_CORE_MONITOR_LISTEN for its probes", where)
				continue
			}
		}
		port := portOf(t, listen)
		if !hasContainerPort(c, intstr.FromInt32(port)) {
			t.Errorf("%s: wabiz listens on %d (%s) but the container declares %v", where, port, listen, c.Ports)
		}
		for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			checkProbe(t, where+" "+name+" probe", p, c, imageBin, commands)
		}
	}
	if !equalCounts(roles, s.roles) {
		t.Errorf("pods by role %v, want %v", roles, s.roles)
	}
	for _, svc := range m.services {
		checkService(t, svc, workloads)
	}
	for _, b := range m.budgets {
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil || !selectsAny(sel, workloads) {
			t.Errorf("PodDisruptionBudget %s selects no pods of the manifests", b.Name)
		}
	}
}

// podMounts is what a container has mounted, by path.
type podMounts struct {
	byPath     map[string]string // mount path → volume name
	secrets    map[string]*corev1.SecretVolumeSource
	claims     map[string]string // volume → claim name
	persistent map[string]bool   // volume on a claim (or a claim template)
}

func mountsOf(t *testing.T, where string, pod corev1.PodSpec, c corev1.Container, templates []corev1.PersistentVolumeClaim) podMounts {
	t.Helper()
	m := podMounts{byPath: map[string]string{}, secrets: map[string]*corev1.SecretVolumeSource{}, claims: map[string]string{}, persistent: map[string]bool{}}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, tpl := range templates {
		m.persistent[tpl.Name] = true
	}
	for _, vm := range c.VolumeMounts {
		v, declared := volumes[vm.Name]
		if !declared && !m.persistent[vm.Name] {
			t.Errorf("%s: mount %s uses volume %s, which the pod does not declare", where, vm.MountPath, vm.Name)
			continue
		}
		m.byPath[vm.MountPath] = vm.Name
		if v.Secret != nil {
			m.secrets[vm.Name] = v.Secret
		}
		if v.PersistentVolumeClaim != nil {
			m.claims[vm.Name] = v.PersistentVolumeClaim.ClaimName
			m.persistent[vm.Name] = true
		}
	}
	return m
}

func (m podMounts) volumeFor(p string) (string, bool) {
	best := ""
	for mp := range m.byPath {
		if underAny(p, []string{mp}) && len(mp) > len(best) {
			best = mp
		}
	}
	return m.byPath[best], best != ""
}

// fromSecret: p is a file of a mounted Secret volume (a listed key, when
// the volume lists its items).
func (m podMounts) fromSecret(p string) bool {
	v, ok := m.volumeFor(p)
	src := m.secrets[v]
	if !ok || src == nil {
		return false
	}
	if len(src.Items) == 0 {
		return true
	}
	for mp, name := range m.byPath {
		if name == v {
			rel := strings.TrimPrefix(p, strings.TrimSuffix(mp, "/")+"/")
			for _, it := range src.Items {
				if it.Path == rel {
					return true
				}
			}
		}
	}
	return false
}

// envOf reads the container's environment; a pod field stands in with a
// plausible pod name. Secrets must come through *_FILE, never as values.
func envOf(t *testing.T, where string, c corev1.Container, mounts podMounts) map[string]string {
	t.Helper()
	if len(c.EnvFrom) > 0 {
		t.Errorf("%s: envFrom hides the names from this check; list each variable", where)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = "wabiz-web-7c9d5b6f4-x2k8q"
		default:
			t.Errorf("%s: %s comes from %v; secrets go through the *_FILE options and a mounted Secret", where, e.Name, e.ValueFrom)
		}
	}
	checkEnvNames(t, where, env)
	fileVars := secretFileVars()
	for name, v := range env {
		if fileVars[name+"_FILE"] {
			t.Errorf("%s: secret %s given as a value; use %s_FILE", where, name, name)
		}
		if fileVars[name] && !mounts.fromSecret(v) {
			t.Errorf("%s: %s=%s is not a file of a mounted Secret", where, name, v)
		}
	}
	return env
}

// checkSecretsDocumented: each Secret the pod mounts is one the operations
// guide tells how to create, with the keys the pod reads.
func checkSecretsDocumented(t *testing.T, where string, mounts podMounts, ops string) {
	t.Helper()
	for _, src := range mounts.secrets {
		if strings.Contains(ops, "kubectl create secret tls "+src.SecretName+" ") {
			continue
		}
		if !strings.Contains(ops, "kubectl create secret generic "+src.SecretName+" ") {
			t.Errorf("%s: docs/operations.md does not say how to create the Secret %s", where, src.SecretName)
			continue
		}
		for _, it := range src.Items {
			if !strings.Contains(ops, "--from-literal="+it.Key+"=") && !strings.Contains(ops, "--from-file="+it.Key+"=") {
				t.Errorf("%s: docs/operations.md creates the Secret %s without its key %s", where, src.SecretName, it.Key)
			}
		}
	}
}

func checkProbe(t *testing.T, where string, p *corev1.Probe, c corev1.Container, imageBin string, commands map[string]bool) {
	t.Helper()
	switch {
	case p == nil:
		t.Errorf("%s: missing", where)
	case p.Exec != nil:
		cmd := p.Exec.Command
		if len(cmd) < 2 || cmd[0] != imageBin || !commands[cmd[1]] || cmd[1] != "health" {
			t.Errorf("%s: runs %v, want [%s health]", where, cmd, imageBin)
		}
	case p.HTTPGet != nil:
		if !hasContainerPort(c, p.HTTPGet.Port) {
			t.Errorf("%s: port %s is no container port", where, p.HTTPGet.Port.String())
		}
	case p.TCPSocket != nil:
		if !hasContainerPort(c, p.TCPSocket.Port) {
			t.Errorf("%s: port %s is no container port", where, p.TCPSocket.Port.String())
		}
	default:
		t.Errorf("%s: neither the health subcommand nor a port", where)
	}
}

func hasContainerPort(c corev1.Container, port intstr.IntOrString) bool {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return true
		}
	}
	return false
}

// checkService: a Service of pods selects some, and each port reaches a
// port those pods declare. An ExternalName stands for something outside.
func checkService(t *testing.T, svc *corev1.Service, workloads []workload) {
	t.Helper()
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if svc.Spec.ExternalName == "" || len(svc.Spec.Selector) > 0 {
			t.Errorf("Service %s: an ExternalName needs externalName and no selector", svc.Name)
		}
		return
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	if len(svc.Spec.Selector) == 0 || !selectsAny(sel, workloads) {
		t.Errorf("Service %s: selector %v matches no pods of the manifests", svc.Name, svc.Spec.Selector)
		return
	}
	for _, w := range workloads {
		if !sel.Matches(labels.Set(w.pod.Labels)) {
			continue
		}
		for _, p := range svc.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			if !hasContainerPort(w.pod.Spec.Containers[0], target) {
				t.Errorf("Service %s: port %d → %s, which %s %s does not declare", svc.Name, p.Port, target.String(), w.kind, w.name)
			}
		}
	}
}

func selectsAny(sel labels.Selector, workloads []workload) bool {
	for _, w := range workloads {
		if sel.Matches(labels.Set(w.pod.Labels)) {
			return true
		}
	}
	return false
}

func hasService(m manifests, name string) bool {
	for _, s := range m.services {
		if s.Name == name {
			return true
		}
	}
	return false
}

func sharedClaim(m manifests, name string) bool {
	for _, c := range m.claims {
		if c.Name == name {
			for _, mode := range c.Spec.AccessModes {
				if mode == corev1.ReadWriteMany {
					return true
				}
			}
		}
	}
	return false
}

func portOf(t *testing.T, listen string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(listen)
	n, err2 := strconv.ParseInt(p, 10, 32)
	if err != nil || err2 != nil {
		t.Fatalf("listen address %q has no port", listen)
	}
	return int32(n)
}
