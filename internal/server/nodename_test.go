package server

import (
	"regexp"
	"testing"

	"github.com/wabiz/wabiz/internal/config"
)

// TestNodeNameIsKeptInTheDataDirectory: without WABIZ_NODE_NAME a node's
// name is generated once and read back at every later start; a configured
// name wins; the lease owner defaults to the name.
func TestNodeNameIsKeptInTheDataDirectory(t *testing.T) {
	t.Parallel()
	c := config.Default()
	c.DataDir = t.TempDir()
	first, err := NodeName(c)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(first) {
		t.Fatalf("generated name %q, want 12 hex digits", first)
	}
	if again, err := NodeName(c); err != nil || again != first {
		t.Fatalf("name at the next start = %q (%v), want %q", again, err, first)
	}
	other := config.Default()
	other.DataDir = t.TempDir()
	if name, _ := NodeName(other); name == first {
		t.Fatal("two data directories got one name")
	}
	c.NodeName = "core-7"
	if name, err := NodeName(c); err != nil || name != "core-7" {
		t.Fatalf("configured name: %q (%v)", name, err)
	}
	if got := NodeID("", "core-7"); got != "core-7" {
		t.Fatalf("lease owner without WABIZ_NODE_ID = %q", got)
	}
	if got := NodeID("lease-1", "core-7"); got != "lease-1" {
		t.Fatalf("lease owner with WABIZ_NODE_ID = %q", got)
	}
}
