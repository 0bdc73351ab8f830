package deploy

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// instruction is one line of a Dockerfile, continuations joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ENV, ...
	args string
}

// stage is one FROM and what follows it.
type stage struct {
	name         string
	base         string
	instructions []instruction
}

// parseDockerfile reads the subset of the Dockerfile syntax this
// repository's Dockerfile uses: comments, continuations, one instruction a
// line. Anything it cannot read fails the test rather than being skipped.
func parseDockerfile(t *testing.T, file string) []stage {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var pending strings.Builder
	start := 0
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if pending.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if pending.Len() == 0 {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(line)
		text := pending.String()
		pending.Reset()
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			st := stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case in.cmd == "ARG" && len(stages) == 0:
			// An ARG before the first FROM only parameterises FROM.
		case len(stages) == 0:
			t.Fatalf("%s:%d: %s before the first FROM", file, in.line, in.cmd)
		default:
			stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%s: %d stages, want a build stage and a runtime stage", file, len(stages))
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// one returns the stage's only cmd instruction.
func (s stage) one(t *testing.T, cmd string) instruction {
	t.Helper()
	all := s.all(cmd)
	if len(all) != 1 {
		t.Fatalf("stage %q has %d %s instructions, want 1", s.base, len(all), cmd)
	}
	return all[0]
}

// env collects the stage's ENV KEY=VALUE pairs (quotes removed).
func (s stage) env(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, in := range s.all("ENV") {
		for _, word := range shellWords(t, in.args) {
			k, v, ok := strings.Cut(word, "=")
			if !ok {
				t.Fatalf("line %d: ENV %q is not KEY=VALUE", in.line, word)
			}
			env[k] = v
		}
	}
	return env
}

// args collects the stage's ARG defaults.
func (s stage) argDefaults() map[string]string {
	args := map[string]string{}
	for _, in := range s.all("ARG") {
		k, v, _ := strings.Cut(in.args, "=")
		args[k] = v
	}
	return args
}

// execForm decodes the JSON array form of CMD, ENTRYPOINT, HEALTHCHECK CMD.
func execForm(t *testing.T, in instruction, text string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(text), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("line %d: %s %s: want the exec form, a JSON array (%v)", in.line, in.cmd, text, err)
	}
	return argv
}

// shellWords splits a command line on blanks, honouring double quotes,
// which is all the Dockerfile's RUN and ENV lines use.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, inWord = !inQuote, true
		case (r == ' ' || r == '\t') && !inQuote:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inQuote {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// expand replaces ${NAME} and $NAME from vars; an unknown name fails.
func expand(t *testing.T, s string, vars map[string]string) string {
	t.Helper()
	return os.Expand(s, func(name string) string {
		v, ok := vars[name]
		if !ok {
			t.Fatalf("%q uses $%s, which the stage does not declare", s, name)
		}
		return v
	})
}

// imageBuild is what the Dockerfile's build stage does to make the binary.
type imageBuild struct {
	env      map[string]string // the build stage's ENV
	args     []string          // go build's arguments, -o and the package included
	output   string            // the -o path inside the build stage
	versionX string            // the -X assignment that stamps the version, unexpanded
}

const versionVar = "github.com/wabiz/wabiz/internal/cli.Version"

// dockerBuild reads the go build command of the build stage, with the
// build arguments set to buildArgs (defaults for the rest).
func dockerBuild(t *testing.T, buildArgs map[string]string) imageBuild {
	t.Helper()
	stages := parseDockerfile(t, "Dockerfile")
	build := stages[0]
	vars := build.argDefaults()
	for k, v := range buildArgs {
		if _, ok := vars[k]; !ok {
			t.Fatalf("the build stage declares no ARG %s", k)
		}
		vars[k] = v
	}
	b := imageBuild{env: build.env(t)}
	for k, v := range b.env {
		vars[k] = v
	}
	var found []instruction
	for _, in := range build.all("RUN") {
		if strings.HasPrefix(in.args, "go build ") {
			found = append(found, in)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the build stage has %d RUN go build lines, want 1", len(found))
	}
	words := shellWords(t, found[0].args)
	for i := 2; i < len(words); i++ {
		w := words[i]
		if w == "-o" && i+1 < len(words) {
			b.output = words[i+1]
		}
		if w == "-ldflags" && i+1 < len(words) {
			for f := range strings.FieldsSeq(words[i+1]) {
				if strings.HasPrefix(f, versionVar+"=") {
					b.versionX = f
				}
			}
		}
		b.args = append(b.args, expand(t, w, vars))
	}
	if b.output == "" {
		t.Fatalf("line %d: go build without -o", found[0].line)
	}
	return b
}

// runtimeStage is the image's last stage.
func runtimeStage(t *testing.T) stage {
	stages := parseDockerfile(t, "Dockerfile")
	return stages[len(stages)-1]
}

// binaryPath is where the runtime stage copies the build stage's binary.
func binaryPath(t *testing.T, rt stage, buildOutput string) string {
	t.Helper()
	for _, in := range rt.all("COPY") {
		f := strings.Fields(in.args)
		if len(f) >= 3 && strings.HasPrefix(f[0], "--from=") && f[len(f)-2] == buildOutput {
			return f[len(f)-1]
		}
	}
	t.Fatalf("the runtime stage copies no %s from the build stage", buildOutput)
	return ""
}

// TestDockerfileBuildFlags: a static, reproducible, stamped binary.
func TestDockerfileBuildFlags(t *testing.T) {
	t.Parallel()
	b := dockerBuild(t, map[string]string{"VERSION": "v9.8.7"})
	if b.env["CGO_ENABLED"] != "0" {
		t.Errorf("build stage ENV CGO_ENABLED=%q, want 0 (a static binary for a base without libc)", b.env["CGO_ENABLED"])
	}
	joined := " " + strings.Join(b.args, " ") + " "
	for _, want := range []string{" -trimpath ", versionVar + "=v9.8.7", " ./cmd/wabiz "} {
		if !strings.Contains(joined, want) {
			t.Errorf("go build %s: missing %q", strings.TrimSpace(joined), strings.TrimSpace(want))
		}
	}
	if b.versionX != versionVar+"=${VERSION}" {
		t.Errorf("the version is stamped with %q, want %s=${VERSION} (the VERSION build argument)", b.versionX, versionVar)
	}
}

// TestDockerfileRuntime checks the runtime stage against the server: its
// environment loads as serve would load it, its volumes hold the data and
// media directories, it exposes the listener's port, runs as non-root and
// checks health through the health subcommand.
func TestDockerfileRuntime(t *testing.T) {
	t.Parallel()
	rt := runtimeStage(t)
	b := dockerBuild(t, nil)
	bin := binaryPath(t, rt, b.output)

	if !strings.Contains(rt.base, "distroless/static") && rt.base != "scratch" {
		t.Errorf("runtime base %s: want a minimal base (distroless/static or scratch)", rt.base)
	}
	user := rt.one(t, "USER").args
	uid, _, _ := strings.Cut(user, ":")
	if uid == "0" || uid == "root" || uid == "" {
		t.Errorf("USER %q: the image must not run as root", user)
	}

	env := rt.env(t)
	checkEnvNames(t, "Dockerfile ENV", env)
	c, err := loadConfig(env, nil)
	if err != nil {
		t.Fatalf("the image's environment does not load: %v", err)
	}
	volumes := execForm(t, rt.one(t, "VOLUME"), rt.one(t, "VOLUME").args)
	for what, dir := range map[string]string{"data directory": c.DataDir, "media directory": c.MediaDir(), "SQLite database": filepath.Dir(c.SQLitePath())} {
		if !underAny(dir, volumes) {
			t.Errorf("the %s %s is on no VOLUME %v: it would be lost with the container", what, dir, volumes)
		}
	}

	_, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		t.Fatal(err)
	}
	exposed := strings.Fields(rt.one(t, "EXPOSE").args)
	if len(exposed) != 1 || strings.TrimSuffix(exposed[0], "/tcp") != port {
		t.Errorf("EXPOSE %v, want the listener's port %s (WABIZ_LISTEN=%s)", exposed, port, c.Listen)
	}

	hc := rt.one(t, "HEALTHCHECK")
	_, cmdText, ok := strings.Cut(hc.args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %q has no CMD", hc.args)
	}
	if argv := execForm(t, hc, strings.TrimSpace(cmdText)); fmt.Sprint(argv) != fmt.Sprint([]string{bin, "health"}) {
		t.Errorf("HEALTHCHECK CMD %v, want [%s health]", argv, bin)
	}
	if argv := execForm(t, rt.one(t, "ENTRYPOINT"), rt.one(t, "ENTRYPOINT").args); fmt.Sprint(argv) != fmt.Sprint([]string{bin}) {
		t.Errorf("ENTRYPOINT %v, want [%s]", argv, bin)
	}
	if argv := execForm(t, rt.one(t, "CMD"), rt.one(t, "CMD").args); fmt.Sprint(argv) != "[serve]" {
		t.Errorf("CMD %v, want [serve]", argv)
	}
}

func underAny(dir string, roots []string) bool {
	for _, r := range roots {
		if dir == r || strings.HasPrefix(dir, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}

// inRoot maps an absolute image path into a directory standing for the
// image's root.
func inRoot(root, p string) string { return filepath.Join(root, filepath.FromSlash(path.Clean(p))) }
