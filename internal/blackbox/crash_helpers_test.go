package blackbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hookRecorder is a plain-HTTP webhook receiver that keeps an index of every
// callback it acknowledged: the statuses per message id, the inbound
// message ids, and the bodies that were not valid JSON. Its answer can be
// switched to an error so that callbacks pile up in the server's queue.
type hookRecorder struct {
	srv    *httptest.Server
	answer atomic.Int32 // status code sent back

	mu        sync.Mutex
	posts     int                       // every POST, answered 200 or not
	refused   int                       // POSTs answered with an error
	statuses  map[string]map[string]int // message id -> status -> times acknowledged
	recipient map[string]string         // message id -> recipient_id of its statuses
	failures  map[string][]string       // message id -> error codes of its failed statuses
	inbound   map[string]int            // inbound message id -> times acknowledged
	malformed []string                  // bodies that are not a JSON object of arrays
	unknown   map[string]int            // top-level keys other than statuses/messages/contacts
}

func newHookRecorder(t testing.TB) *hookRecorder {
	h := &hookRecorder{
		statuses:  map[string]map[string]int{},
		recipient: map[string]string{},
		failures:  map[string][]string{},
		inbound:   map[string]int{},
		unknown:   map[string]int{},
	}
	h.answer.Store(http.StatusOK)
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookRecorder) url() string { return h.srv.URL + "/hook" }

// answerWith sets the status code of every following answer.
func (h *hookRecorder) answerWith(code int) { h.answer.Store(int32(code)) }

func (h *hookRecorder) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	code := int(h.answer.Load())
	if err != nil {
		code = http.StatusBadRequest
	}
	h.mu.Lock()
	h.posts++
	if code != http.StatusOK {
		h.refused++
	} else {
		h.record(body)
	}
	h.mu.Unlock()
	w.WriteHeader(code)
}

// callbackStatus and callbackMessage are the parts of the payload the
// recorder indexes.
type callbackStatus struct {
	ID          string `json:"id"`
	RecipientID string `json:"recipient_id"`
	Status      string `json:"status"`
	Errors      []struct {
		Code json.Number `json:"code"`
	} `json:"errors"`
}

type callbackMessage struct {
	ID   string `json:"id"`
	From string `json:"from"`
}

// record indexes one acknowledged body. h.mu is held.
func (h *hookRecorder) record(body []byte) {
	bad := func(why string) {
		h.malformed = append(h.malformed, fmt.Sprintf("%s: %.300s", why, body))
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil || top == nil {
		bad("not a JSON object")
		return
	}
	if dec.More() {
		bad("data after the JSON object")
		return
	}
	for key, raw := range top {
		switch key {
		case "statuses":
			var items []callbackStatus
			if json.Unmarshal(raw, &items) != nil {
				bad("statuses is not an array of status objects")
				continue
			}
			for _, s := range items {
				if s.ID == "" || s.Status == "" {
					bad("a status without id or status")
					continue
				}
				if h.statuses[s.ID] == nil {
					h.statuses[s.ID] = map[string]int{}
				}
				h.statuses[s.ID][s.Status]++
				h.recipient[s.ID] = s.RecipientID
				if s.Status == "failed" {
					var codes []string
					for _, e := range s.Errors {
						codes = append(codes, e.Code.String())
					}
					h.failures[s.ID] = append(h.failures[s.ID], strings.Join(codes, ","))
				}
			}
		case "messages":
			var items []callbackMessage
			if json.Unmarshal(raw, &items) != nil {
				bad("messages is not an array of message objects")
				continue
			}
			for _, m := range items {
				if m.ID == "" {
					bad("a message without id")
					continue
				}
				h.inbound[m.ID]++
			}
		case "contacts":
			var items []json.RawMessage
			if json.Unmarshal(raw, &items) != nil {
				bad("contacts is not an array")
			}
		default:
			h.unknown[key]++
		}
	}
}

// hookSnapshot is a copy of the recorder's index at one moment.
type hookSnapshot struct {
	posts, refused int
	statuses       map[string]map[string]int
	recipient      map[string]string
	failures       map[string][]string
	inbound        map[string]int
	malformed      []string
	unknown        map[string]int
}

func (h *hookRecorder) snapshot() hookSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := hookSnapshot{
		posts: h.posts, refused: h.refused,
		statuses:  make(map[string]map[string]int, len(h.statuses)),
		recipient: make(map[string]string, len(h.recipient)),
		failures:  make(map[string][]string, len(h.failures)),
		inbound:   make(map[string]int, len(h.inbound)),
		malformed: append([]string(nil), h.malformed...),
		unknown:   make(map[string]int, len(h.unknown)),
	}
	for id, m := range h.statuses {
		c := make(map[string]int, len(m))
		for k, v := range m {
			c[k] = v
		}
		s.statuses[id] = c
	}
	for k, v := range h.recipient {
		s.recipient[k] = v
	}
	for k, v := range h.failures {
		s.failures[k] = append([]string(nil), v...)
	}
	for k, v := range h.inbound {
		s.inbound[k] = v
	}
	for k, v := range h.unknown {
		s.unknown[k] = v
	}
	return s
}

// final reports whether id has reached an end state on the webhook.
func (s hookSnapshot) final(id string) bool {
	st := s.statuses[id]
	return st["read"] > 0 || st["failed"] > 0
}

// seen lists the statuses acknowledged for id, for failure reports.
func (s hookSnapshot) seen(id string) string {
	var parts []string
	for st, n := range s.statuses[id] {
		parts = append(parts, fmt.Sprintf("%s×%d", st, n))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " ")
}

// duplicates counts the callbacks acknowledged more than once: a status of
// a message (same id and status) or an inbound message (same id).
func (s hookSnapshot) duplicates() (statuses, messages int) {
	for _, m := range s.statuses {
		for _, n := range m {
			statuses += n - 1
		}
	}
	for _, n := range s.inbound {
		messages += n - 1
	}
	return statuses, messages
}

// tryDo is client.do for goroutines and for requests that may meet a dead
// server: it reports failures instead of ending the test.
func (c *client) tryDo(method, path, auth string, body any) (int, map[string]any, error) {
	var payload io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		payload = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, payload)
	if err != nil {
		return 0, nil, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var decoded map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &decoded); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("answer is not JSON: %.200s", raw)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, decoded, fmt.Errorf("%s %s: status %d: %.300s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, decoded, nil
}

// firstMessageID reads messages[0].id of a send answer.
func firstMessageID(body map[string]any) string {
	msgs, _ := body["messages"].([]any)
	if len(msgs) == 0 {
		return ""
	}
	first, _ := msgs[0].(map[string]any)
	id, _ := first["id"].(string)
	return id
}

// waitUntil polls cond every interval until it holds or timeout passes; it
// fails early when the server process exits. It returns whether cond held.
func (in *instance) waitUntil(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if in.proc != nil {
			select {
			case <-in.proc.done:
				in.t.Fatalf("wabiz exited while the test waited: %v", in.proc.err)
			default:
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// waitConnected waits until /v1/health says the gateway is connected: the
// start-up process (templates, offline messages) has finished and sends are
// accepted.
func (in *instance) waitConnected(c *client, auth string) {
	in.t.Helper()
	var last string
	ok := in.waitUntil(readyTimeout, 20*time.Millisecond, func() bool {
		_, body, err := c.tryDo("GET", "/v1/health", auth, nil)
		if err != nil {
			last = err.Error()
			return false
		}
		h, _ := body["health"].(map[string]any)
		last = fmt.Sprint(h["gateway_status"])
		return last == "connected"
	})
	if !ok {
		in.t.Fatalf("gateway not connected after %s (last: %s)", readyTimeout, last)
	}
}

// registerSandboxNumber takes 1 555 0100 through certificate, code request
// and verification on the sandbox network.
func registerSandboxNumber(t *testing.T, c *client, admin string) {
	t.Helper()
	r := c.do(t, "POST", "/sandbox/v1/certificates", admin, `{"cc":"1","phone_number":"5550100","vname":"Acme"}`).expect(t, 201)
	cert, _ := r.get("certificate").(string)
	if cert == "" {
		t.Fatalf("no certificate in %s", r.raw)
	}
	c.do(t, "POST", "/v1/account", admin, map[string]string{
		"cc": "1", "phone_number": "5550100", "method": "sms", "cert": cert,
	}).expect(t, 202)
	r = c.do(t, "GET", "/sandbox/v1/account/code", admin, nil).expect(t, 200)
	code, _ := r.get("code").(string)
	if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
		t.Fatalf("registration code %q", code)
	}
	c.do(t, "POST", "/v1/account/verify", admin, map[string]string{"code": code}).expect(t, 201)
}
