package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// The webhook log: every callback POST the dispatchers recorded (the
// attempt log, newest first), filtered by kind and message id, with the
// queue's depth; and a message's timeline, from its outbox row and the
// statuses the POSTs that carried it delivered.

var timeZero time.Time

var attemptKinds = []string{"statuses", "messages", "contacts", "errors", "services", "media_items"}

type webhookData struct {
	Kind, MessageID string
	Kinds           []string
	Attempts        []store.WebhookAttempt
	Queued          int64
	URL             string
}

func (c *Console) webhookData(r *http.Request) (webhookData, error) {
	q := r.URL.Query()
	d := webhookData{Kind: q.Get("kind"), MessageID: strings.TrimSpace(q.Get("message_id")), Kinds: attemptKinds, URL: c.o.Settings().Webhooks.URL}
	if d.Kind != "" && !slices.Contains(attemptKinds, d.Kind) {
		return d, badRequest("Unknown kind %q: one of %s", d.Kind, strings.Join(attemptKinds, ", "))
	}
	if len(d.MessageID) > 200 {
		return d, badRequest("A message id is at most 200 characters")
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return d, badRequest("limit must be 1 to 1000")
		}
		limit = n
	}
	var err error
	if d.Attempts, err = c.o.Store.WebhookAttempts(r.Context(), store.WebhookAttemptFilter{Kind: d.Kind, MessageID: d.MessageID, Limit: limit}); err != nil {
		return d, err
	}
	cur, err := c.o.Store.GetConsoleCursor(r.Context())
	if err != nil {
		return d, err
	}
	d.Queued = cur.Queued
	return d, nil
}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.webhookData(r)
	if err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "webhooks", d)
	return nil
}

func (c *Console) webhookRows(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.webhookData(r)
	if err != nil {
		return err
	}
	return c.fragment(w, "webhooks", "rows", d)
}

// Step is one point of a message's timeline.
type Step struct {
	At     time.Time
	What   string
	Detail string
	Failed bool
}

type timelineData struct {
	ID       string
	Outbox   *store.OutboxMessage
	Steps    []Step
	Attempts []store.WebhookAttempt
}

func (c *Console) timeline(w http.ResponseWriter, r *http.Request, s *session) error {
	id := strings.TrimSpace(r.PathValue("id"))
	if id == "" || len(id) > 200 {
		return badRequest("A message id is 1 to 200 characters")
	}
	d := timelineData{ID: id}
	m, err := c.o.Store.GetOutbox(r.Context(), id)
	switch {
	case err == nil:
		d.Outbox = &m
		d.Steps = append(d.Steps, Step{At: m.CreatedAt, What: "accepted", Detail: "to " + m.Recipient + ", " + m.Type})
	case errors.Is(err, store.ErrNotFound):
	default:
		return err
	}
	if d.Attempts, err = c.o.Store.WebhookAttempts(r.Context(), store.WebhookAttemptFilter{MessageID: id, Limit: 200}); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, a := range slices.Backward(d.Attempts) {
		for _, st := range statusesOf(a.Body, id) {
			key := st.What + st.Detail
			if seen[key] {
				continue // a retried POST carries the same status again
			}
			seen[key] = true
			d.Steps = append(d.Steps, st)
		}
	}
	if d.Outbox != nil && d.Outbox.Status == "failed" && !seen["failed"+d.Outbox.LastError] && len(d.Steps) == 1 {
		d.Steps = append(d.Steps, Step{At: d.Outbox.UpdatedAt, What: "failed", Detail: d.Outbox.LastError, Failed: true})
	}
	slices.SortStableFunc(d.Steps, func(a, b Step) int { return a.At.Compare(b.At) })
	if d.Outbox == nil && len(d.Steps) == 0 {
		return notFound("No message " + id + " in the outbox or the webhook log")
	}
	c.render(w, r, s, http.StatusOK, "timeline", d)
	return nil
}

// statusesOf reads the statuses (and the inbound message) a callback
// body says about message id.
func statusesOf(body []byte, id string) []Step {
	var p struct {
		Statuses []struct {
			ID        string `json:"id"`
			Status    string `json:"status"`
			Timestamp string `json:"timestamp"`
			Errors    []struct {
				Code  int    `json:"code"`
				Title string `json:"title"`
			} `json:"errors"`
		} `json:"statuses"`
		Messages []struct {
			ID        string `json:"id"`
			Type      string `json:"type"`
			Timestamp string `json:"timestamp"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &p) != nil {
		return nil
	}
	at := func(ts string) time.Time {
		n, _ := strconv.ParseInt(ts, 10, 64)
		return time.Unix(n, 0).UTC()
	}
	var out []Step
	for _, st := range p.Statuses {
		if st.ID != id {
			continue
		}
		s := Step{At: at(st.Timestamp), What: st.Status, Failed: st.Status == "failed"}
		for _, e := range st.Errors {
			s.Detail = strconv.Itoa(e.Code) + " " + e.Title
		}
		out = append(out, s)
	}
	for _, m := range p.Messages {
		if m.ID == id {
			out = append(out, Step{At: at(m.Timestamp), What: "received", Detail: m.Type})
		}
	}
	return out
}
