package backup

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var cheap = KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

// failingStore fails the write of one document.
type failingStore struct {
	Store
	failOn string
}

func (f failingStore) PutDocument(ctx context.Context, name string, body []byte, v int64, now time.Time) (int64, error) {
	if name == f.failOn {
		return 0, errors.New("disk full")
	}
	return f.Store.PutDocument(ctx, name, body, v, now)
}

func put(t *testing.T, st Store, name, body string) {
	t.Helper()
	v := int64(0)
	if d, err := st.GetDocument(context.Background(), name); err == nil {
		v = d.Version
	}
	if _, err := st.PutDocument(context.Background(), name, []byte(body), v, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func body(t *testing.T, st Store, name string) string {
	t.Helper()
	d, err := st.GetDocument(context.Background(), name)
	if errors.Is(err, store.ErrNotFound) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(d.Body)
}

func TestRestoreIsAllOrNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		docs := []string{"a", "b", "c"}
		put(t, st, "a", `{"v":"a1"}`)
		put(t, st, "b", `{"v":"b1"}`)
		put(t, st, "c", `{"v":"c1"}`)
		data, err := New(Options{Store: st, Documents: docs, KDF: cheap}).Backup(ctx, "pw")
		if err != nil {
			t.Fatal(err)
		}
		put(t, st, "a", `{"v":"a2"}`)
		put(t, st, "b", `{"v":"b2"}`)
		put(t, st, "c", `{"v":"c2"}`)

		// "c" fails after "a" and "b" were written: both are put back.
		err = New(Options{Store: failingStore{st, "c"}, Documents: docs}).Restore(ctx, "pw", data)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("err = %v", err)
		}
		for _, n := range docs {
			if got := body(t, st, n); got != `{"v":"`+n+`2"}` {
				t.Fatalf("%s = %s after a failed restore", n, got)
			}
		}
		if err := New(Options{Store: st, Documents: docs}).Restore(ctx, "pw", data); err != nil {
			t.Fatal(err)
		}
		for _, n := range docs {
			if got := body(t, st, n); got != `{"v":"`+n+`1"}` {
				t.Fatalf("%s = %s after restore", n, got)
			}
		}
	})
}

func TestUnknownPartIsRefused(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	put(t, st, "a", `{}`)
	put(t, st, "webhook.ca", `{}`)
	data, err := New(Options{Store: st, Documents: []string{"a", "webhook.ca"}, KDF: cheap}).Backup(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	err = New(Options{Store: st, Documents: []string{"a"}}).Restore(context.Background(), "pw", data)
	if err == nil || !strings.Contains(err.Error(), "unsupported part 'webhook.ca'") {
		t.Fatalf("err = %v", err)
	}
}

func TestOversizedKDFIsRefusedBeforeDerivation(t *testing.T) {
	blob, err := seal([]byte("x"), []byte("pw"), cheap)
	if err != nil {
		t.Fatal(err)
	}
	blob[14] = 0xff // memory: gigabytes; must be refused, not attempted
	if _, err := open(blob, []byte("pw")); !errors.Is(err, errUnreadable) {
		t.Fatalf("err = %v", err)
	}
}
