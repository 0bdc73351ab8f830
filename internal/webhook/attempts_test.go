package webhook

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// attemptRecorder counts the inserts as well as the rows: the log must
// cost one statement per flush, not one per POST.
type attemptRecorder struct {
	mu      sync.Mutex
	inserts int
	rows    []store.WebhookAttempt
}

func (a *attemptRecorder) InsertWebhookAttempts(_ context.Context, as []store.WebhookAttempt) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inserts++
	a.rows = append(a.rows, as...)
	return nil
}

func TestAttemptLogOneInsertPerRoundWithOutcomeAndIDs(t *testing.T) {
	rec := &attemptRecorder{}
	e := newEnv(t, backend{name: "memory"}, func(o *Options) { o.Attempts = rec; o.BatchMax = 1 })
	e.recv.status(http.StatusInternalServerError)
	e.enqueue(t, status("gB1"), status("gB2"))
	e.runOnce(t)
	if rec.inserts != 1 || len(rec.rows) != 2 {
		t.Fatalf("after a failed round: %d inserts, %d rows; want 1 insert of 2", rec.inserts, len(rec.rows))
	}
	for _, a := range rec.rows {
		if a.StatusCode != 500 || a.Error != "HTTP 500" || !a.NextRetryAt.Equal(t0.Add(3*time.Second)) || a.Kind != KindStatuses ||
			a.Items != 1 || a.URL != e.recv.URL() || a.Node != "node-memory" || len(a.Body) == 0 {
			t.Fatalf("failed attempt logged as %+v", a)
		}
	}
	ids := []string{rec.rows[0].MessageIDs[0], rec.rows[1].MessageIDs[0]}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"gB1", "gB2"}) {
		t.Fatalf("message ids %v", ids)
	}
	e.recv.status(http.StatusOK)
	e.clock.Advance(3 * time.Second)
	e.runOnce(t)
	if rec.inserts != 2 || len(rec.rows) != 4 {
		t.Fatalf("after the retry round: %d inserts, %d rows", rec.inserts, len(rec.rows))
	}
	if a := rec.rows[3]; a.StatusCode != 200 || a.Error != "" || !a.NextRetryAt.IsZero() {
		t.Fatalf("delivery logged as %+v", a)
	}
}

func TestStringMemberReadsOnlyTopLevelStrings(t *testing.T) {
	for _, c := range []struct {
		obj, want string
		ok        bool
	}{
		{`{"id":"gB1","status":"read"}`, "gB1", true},
		{` { "status" : {"id":"inner"} , "id" : "gB\u0032" } `, "gB2", true},
		{`{"status":"read","conversation":{"id":"c1"}}`, "", false},
		{`{"id":12}`, "", false},
		{`{"a\"id":"x","id":"y"}`, "y", true},
		{`[1]`, "", false},
		{`{}`, "", false},
	} {
		got, ok := stringMember([]byte(c.obj), "id")
		if got != c.want || ok != c.ok {
			t.Errorf("stringMember(%s) = %q %v, want %q %v", c.obj, got, ok, c.want, c.ok)
		}
	}
}
