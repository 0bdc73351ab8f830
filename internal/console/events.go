package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// events is GET /console/events: server-sent events that say what changed,
// read from the database (store.ConsoleCursor, one small statement per
// poll) so that changes made by any node show. A page reloads only the
// part whose topic changed (static/console.js).
func (c *Console) events(w http.ResponseWriter, r *http.Request, s *session) error {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	if err := rc.Flush(); err != nil {
		return nil
	}
	ctx := r.Context()
	last, err := c.o.Store.GetConsoleCursor(ctx)
	if err != nil {
		return nil // the stream has begun: the browser reconnects
	}
	ticker := time.NewTicker(c.o.Poll)
	defer ticker.Stop()
	idle := 0
	for {
		// The server's write timeout is for requests; a stream lives on.
		rc.SetWriteDeadline(time.Now().Add(time.Minute))
		select {
		case <-ctx.Done():
			return nil
		case <-c.done:
			return nil
		case <-ticker.C:
		}
		cur, err := c.o.Store.GetConsoleCursor(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("console events: reading what changed", "err", err)
			}
			continue
		}
		topics := changedTopics(last, cur)
		last = cur
		if len(topics) == 0 {
			// A comment now and then keeps proxies from closing an idle
			// stream and tells us when the browser went away.
			if idle++; idle*int(c.o.Poll/time.Millisecond) < 15_000 {
				continue
			}
			idle = 0
			if _, err := fmt.Fprint(w, ": idle\n\n"); err != nil {
				return nil
			}
		} else {
			b, _ := json.Marshal(map[string]any{"topics": topics, "queued": cur.Queued})
			if _, err := fmt.Fprintf(w, "event: change\ndata: %s\n\n", b); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// changedTopics names what a page may show differently: chat (messages
// and ticks), webhooks, customers, templates.
func changedTopics(a, b store.ConsoleCursor) []string {
	var t []string
	if a.Received != b.Received || a.Sent != b.Sent || a.Read != b.Read {
		t = append(t, "chat")
	}
	if a.Attempt != b.Attempt || a.Queued != b.Queued {
		t = append(t, "webhooks")
	}
	if a.Users != b.Users {
		t = append(t, "customers")
	}
	if a.Templates != b.Templates {
		t = append(t, "templates")
	}
	return t
}
