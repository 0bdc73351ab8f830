package api_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestAPIDoesNotKnowTheNetworks holds the layout: the networks' HTTP
// surfaces live with the networks (sandboxapi, cloudapi) and reach the API
// as RouteProviders, so the API builds without either network.
func TestAPIDoesNotKnowTheNetworks(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-json=ImportPath", ".").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v\n%s", err, exit.Stderr)
		}
		t.Fatal(err)
	}
	var deps []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var pkg struct{ ImportPath string }
		if err := dec.Decode(&pkg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		deps = append(deps, pkg.ImportPath)
	}
	// The list is the real one: it holds the API and what it does use.
	for _, want := range []string{"github.com/wabiz/wabiz/internal/api", "github.com/wabiz/wabiz/internal/core"} {
		if !slices.Contains(deps, want) {
			t.Fatalf("go list -deps lacks %s: %v", want, deps)
		}
	}
	for _, p := range deps {
		for _, network := range []string{"internal/network/sandbox", "internal/network/cloud"} {
			if p == "github.com/wabiz/wabiz/"+network || strings.HasPrefix(p, "github.com/wabiz/wabiz/"+network+"/") {
				t.Errorf("internal/api depends on %s", p)
			}
		}
	}
}
