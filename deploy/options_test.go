package deploy

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/config"
)

// optionNames is every environment variable wabiz reads: the option table's
// names, the *_FILE variants of its secrets, and WABIZ_CONFIG.
func optionNames() map[string]bool {
	names := map[string]bool{"WABIZ_CONFIG": true}
	for _, o := range config.Options() {
		names[o.Env] = true
		if o.Secret {
			names[o.Env+"_FILE"] = true
		}
	}
	return names
}

// secretFileVars is the *_FILE variants of the secret options (not
// WABIZ_TLS_CERT_FILE and its kind, whose value is the path itself).
func secretFileVars() map[string]bool {
	names := map[string]bool{}
	for _, o := range config.Options() {
		if o.Secret {
			names[o.Env+"_FILE"] = true
		}
	}
	return names
}

// checkEnvNames fails for each name wabiz does not read: a typo in a
// deployment file would otherwise leave a setting at its default unseen.
func checkEnvNames(t *testing.T, where string, env map[string]string) {
	t.Helper()
	known := optionNames()
	for _, name := range sortedKeys(env) {
		if !known[name] {
			t.Errorf("%s: %s is not an option of wabiz (internal/config)", where, name)
		}
	}
}

// loadConfig resolves env the way `wabiz serve` would, so a value the
// server would refuse at start fails the test. Paths of *_FILE secrets are
// replaced first: the files exist only where the deployment mounts them.
func loadConfig(env map[string]string, secretFiles map[string]string) (*config.Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return config.Load(fs, nil, func(k string) string {
		if secretFileVars()[k] && env[k] != "" {
			if local, ok := secretFiles[k]; ok {
				return local
			}
		}
		return env[k]
	})
}

// secretFilesFor writes a stand-in secret for each *_FILE variable of env
// (12 or more characters, as WA_API_KEY wants) and returns name → local path.
func secretFilesFor(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for name, v := range env {
		if secretFileVars()[name] && v != "" {
			files[name] = writeFile(t, t.TempDir(), "secret", fmt.Sprintf("stand-in-secret-for-%s-0123456789abcdef0123456789", strings.ToLower(name)))
		}
	}
	return files
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
