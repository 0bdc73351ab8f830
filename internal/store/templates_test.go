package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func TestSandboxTemplates(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		at := t0.Add(123 * time.Millisecond)
		tpl := func(name, lang, status string) store.SandboxTemplate {
			return store.SandboxTemplate{Name: name, Language: lang, Category: "utility", Status: status,
				Body: []byte(`{"name":"` + name + `","language":"` + lang + `"}`), CreatedAt: at, UpdatedAt: at}
		}

		// Every change the catalogue takes raises its change count; a
		// refused one does not.
		counted := int64(0)
		expectCount := func(changes int64, after string) {
			t.Helper()
			counted += changes
			if v, err := s.SandboxTemplatesVersion(ctx); err != nil || v != counted {
				t.Fatalf("change count after %s = %d, %v; want %d", after, v, err, counted)
			}
		}
		expectCount(0, "nothing")

		if list, err := s.ListSandboxTemplates(ctx); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("empty catalogue = %#v, %v; want an empty, non-nil list", list, err)
		}
		// Inserted out of order, listed by name then language, byte-wise
		// ('_' sorts after upper-case letters and before lower-case ones).
		a, b, c := tpl("order_update", "en_US", "approved"), tpl("order_update", "de", "approved"), tpl("order_Update", "en_US", "pending")
		if err := s.AddSandboxTemplates(ctx, []store.SandboxTemplate{a, b, c}); err != nil {
			t.Fatal(err)
		}
		expectCount(1, "adding a batch")
		list, err := s.ListSandboxTemplates(ctx)
		if err != nil || !reflect.DeepEqual(list, []store.SandboxTemplate{c, b, a}) {
			t.Fatalf("list = %+v, %v", list, err)
		}
		got, err := s.GetSandboxTemplate(ctx, "order_update", "de")
		if err != nil || !reflect.DeepEqual(got, b) {
			t.Fatalf("get = %+v, %v; want %+v", got, err, b)
		}
		if _, err := s.GetSandboxTemplate(ctx, "order_update", "fr"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get unknown language: %v", err)
		}

		// A batch naming an existing template adds nothing and names it.
		d := tpl("welcome", "en", "approved")
		err = s.AddSandboxTemplates(ctx, []store.SandboxTemplate{d, a})
		var exists *store.TemplateExistsError
		if !errors.As(err, &exists) || !errors.Is(err, store.ErrExists) || *exists != (store.TemplateExistsError{Name: "order_update", Language: "en_US"}) {
			t.Fatalf("duplicate batch: %v", err)
		}
		if _, err := s.GetSandboxTemplate(ctx, "welcome", "en"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a failed batch left %q behind: %v", "welcome", err)
		}
		// The same template twice in one batch.
		if err := s.AddSandboxTemplates(ctx, []store.SandboxTemplate{d, d}); !errors.As(err, &exists) || exists.Name != "welcome" {
			t.Fatalf("batch with a repeat: %v", err)
		}
		expectCount(0, "refused batches")

		// Update changes category, status and body, keeps the creation time.
		later := at.Add(time.Minute)
		upd := a
		upd.Status, upd.Category, upd.Body, upd.UpdatedAt = "paused", "marketing", []byte(`{"v":2}`), later
		if err := s.UpdateSandboxTemplate(ctx, upd); err != nil {
			t.Fatal(err)
		}
		// The same values again change no row, which MySQL reports as none
		// affected: still not ErrNotFound.
		if err := s.UpdateSandboxTemplate(ctx, upd); err != nil {
			t.Fatalf("idempotent update: %v", err)
		}
		if got, _ := s.GetSandboxTemplate(ctx, a.Name, a.Language); !reflect.DeepEqual(got, upd) {
			t.Fatalf("after update %+v, want %+v", got, upd)
		}
		if err := s.UpdateSandboxTemplate(ctx, d); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
		expectCount(2, "two updates and a refused one")

		// Put adds or replaces, and says which.
		created, err := s.PutSandboxTemplate(ctx, d)
		if err != nil || !created {
			t.Fatalf("put new: %v, %v", created, err)
		}
		replaced := d
		replaced.Status, replaced.CreatedAt, replaced.UpdatedAt = "rejected", later, later
		created, err = s.PutSandboxTemplate(ctx, replaced)
		if err != nil || created {
			t.Fatalf("put existing: %v, %v", created, err)
		}
		want := replaced
		want.CreatedAt = d.CreatedAt
		if got, _ := s.GetSandboxTemplate(ctx, d.Name, d.Language); !reflect.DeepEqual(got, want) {
			t.Fatalf("after put %+v, want %+v", got, want)
		}
		expectCount(2, "two puts")

		if err := s.DeleteSandboxTemplate(ctx, "order_update", "de", later); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSandboxTemplate(ctx, "order_update", "de", later); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		expectCount(1, "a delete and a refused one")
		if list, _ := s.ListSandboxTemplates(ctx); len(list) != 3 {
			t.Fatalf("after delete %d templates, want 3", len(list))
		}
	})
}

// TestSandboxTemplateChangesCountedConcurrently: changes made at once from
// several connections, the very first ones included (they race to create
// the counter), are each counted.
func TestSandboxTemplateChangesCountedConcurrently(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		const writers = 8
		errs := make(chan error, writers)
		for i := range writers {
			go func() {
				name := fmt.Sprintf("tpl_%d", i)
				errs <- s.AddSandboxTemplates(ctx, []store.SandboxTemplate{{Name: name, Language: "en", Category: "utility", Status: "approved",
					Body: []byte(`{}`), CreatedAt: t0, UpdatedAt: t0}})
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if v, err := s.SandboxTemplatesVersion(ctx); err != nil || v != writers {
			t.Fatalf("change count %d, %v; want %d", v, err, writers)
		}
	})
}
