package docwatch_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/wabiz/wabiz/internal/docwatch"
)

// versions is the store's version read over a map, counting its queries.
type versions struct {
	v       map[string]int64
	queries int
}

func (s *versions) DocumentVersions(_ context.Context, names []string) (map[string]int64, error) {
	s.queries++
	out := map[string]int64{}
	for _, n := range names {
		out[n] = s.v[n]
	}
	return out, nil
}

func TestPassReloadsOnlyOwnersWhoseDocumentsMoved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &versions{v: map[string]int64{"a": 1, "b": 1, "c": 1}}
	w := docwatch.New(st, nil)
	var reloaded []string
	fail := false
	w.Watch("first", func(context.Context) error { reloaded = append(reloaded, "first"); return nil }, "a")
	w.Watch("second", func(context.Context) error {
		reloaded = append(reloaded, "second")
		if fail {
			return errors.New("database away")
		}
		return nil
	}, "b", "c")
	if err := w.Prime(ctx); err != nil {
		t.Fatal(err)
	}
	// pass checks which owners one pass reloaded, how many it counted as
	// applied, and that it read the versions in one query.
	pass := func(applied int, want ...string) {
		t.Helper()
		reloaded, st.queries = nil, 0
		n, err := w.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(reloaded, want) || n != applied || st.queries != 1 {
			t.Fatalf("pass reloaded %v (%d applied) in %d queries, want %v (%d) in one", reloaded, n, st.queries, want, applied)
		}
	}
	pass(0)
	st.v["c"] = 2
	pass(1, "second")
	pass(0)
	st.v["a"], st.v["d"] = 2, 5 // d is nobody's
	pass(1, "first")

	// A failed reload is tried again at the next pass.
	fail = true
	st.v["b"] = 2
	pass(0, "second")
	fail = false
	pass(1, "second")
	pass(0)
}
