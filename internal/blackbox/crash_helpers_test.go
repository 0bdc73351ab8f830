package blackbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hookRecorder is a plain-HTTP webhook receiver that keeps an index of every
// callback it acknowledged: the statuses per message id, the inbound
// message ids, and the bodies that were not valid JSON. It can misbehave on
// demand, as a real receiver does: answer an error status (answerWith),
// accept a POST and never answer it (hang), or stop listening altogether
// (refuse, then listen again on the same address). It also logs every
// attempt at every item it sees, answered or not, with its times, so a
// test can measure the server's retry spacing.
type hookRecorder struct {
	t       testing.TB
	addr    string       // host:port, kept across refuse/listen
	answer  atomic.Int32 // status code sent back
	hanging atomic.Bool  // POSTs get no answer until the client gives up

	srvMu sync.Mutex
	srv   *http.Server // nil while refusing

	mu        sync.Mutex
	posts     int                       // every POST, answered 200 or not
	refused   int                       // POSTs answered with an error
	statuses  map[string]map[string]int // message id -> status -> times acknowledged
	recipient map[string]string         // message id -> recipient_id of its statuses
	failures  map[string][]string       // message id -> error codes of its failed statuses
	inbound   map[string]int            // inbound message id -> times acknowledged
	malformed []string                  // bodies that are not a JSON object of arrays
	unknown   map[string]int            // top-level keys other than statuses/messages/contacts
	attempts  map[string][]hookAttempt  // item key -> every POST that carried it
}

// hookAttempt is one POST seen by the receiver, for one item in its body.
type hookAttempt struct {
	arrived, ended time.Time
	outcome        int // status code answered, 0 when the POST was left hanging
}

func newHookRecorder(t testing.TB) *hookRecorder {
	h := &hookRecorder{
		t:         t,
		statuses:  map[string]map[string]int{},
		recipient: map[string]string{},
		failures:  map[string][]string{},
		inbound:   map[string]int{},
		unknown:   map[string]int{},
		attempts:  map[string][]hookAttempt{},
	}
	h.answer.Store(http.StatusOK)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	h.serveOn(ln)
	t.Cleanup(h.refuse)
	return h
}

func (h *hookRecorder) url() string { return "http://" + h.addr + "/hook" }

func (h *hookRecorder) serveOn(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(h.serve)}
	h.srvMu.Lock()
	h.srv = srv
	h.srvMu.Unlock()
	go srv.Serve(ln)
}

// answerWith sets the status code of every following answer (and ends a
// hang: POSTs arriving from now on are answered).
func (h *hookRecorder) answerWith(code int) {
	h.answer.Store(int32(code))
	h.hanging.Store(false)
}

// hang leaves every following POST unanswered until the client gives up.
func (h *hookRecorder) hang() { h.hanging.Store(true) }

// refuse closes the listener and every open connection: connections are
// refused until listen is called.
func (h *hookRecorder) refuse() {
	h.srvMu.Lock()
	srv := h.srv
	h.srv = nil
	h.srvMu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// listen accepts connections again on the same address.
func (h *hookRecorder) listen() {
	h.t.Helper()
	var (
		ln  net.Listener
		err error
	)
	for range 50 { // the address is ours, but the kernel may take a moment to release it
		if ln, err = net.Listen("tcp", h.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		h.t.Fatalf("webhook receiver: listen again on %s: %v", h.addr, err)
	}
	h.serveOn(ln)
}

func (h *hookRecorder) serve(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, err := io.ReadAll(r.Body)
	if h.hanging.Load() && err == nil {
		<-r.Context().Done() // the client gave up, or the receiver closed
		h.mu.Lock()
		h.posts++
		h.refused++
		h.logAttempts(body, hookAttempt{arrived: arrived, ended: time.Now()})
		h.mu.Unlock()
		return
	}
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
	h.logAttempts(body, hookAttempt{arrived: arrived, ended: time.Now(), outcome: code})
	h.mu.Unlock()
	w.WriteHeader(code)
}

// itemKey names one callback item: a status of a message, or an inbound
// message.
func statusKey(id, status string) string { return "status " + id + " " + status }
func inboundKey(id string) string        { return "message " + id }

// logAttempts notes an attempt for every item in body. h.mu is held.
func (h *hookRecorder) logAttempts(body []byte, a hookAttempt) {
	var top struct {
		Statuses []callbackStatus  `json:"statuses"`
		Messages []callbackMessage `json:"messages"`
	}
	if json.Unmarshal(body, &top) != nil {
		return
	}
	for _, s := range top.Statuses {
		k := statusKey(s.ID, s.Status)
		h.attempts[k] = append(h.attempts[k], a)
	}
	for _, m := range top.Messages {
		k := inboundKey(m.ID)
		h.attempts[k] = append(h.attempts[k], a)
	}
}

// attemptLog returns a copy of the attempts at every item.
func (h *hookRecorder) attemptLog() map[string][]hookAttempt {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string][]hookAttempt, len(h.attempts))
	for k, v := range h.attempts {
		out[k] = slices.Clone(v)
	}
	return out
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
			case <-in.proc.Done():
				in.t.Fatalf("wabiz exited while the test waited: %v", in.proc.Err())
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

// crashStage is a started server with a registered sandbox number, the
// webhook pointed at hook with short retry delays, instant deliveries, and
// customers whose 24-hour windows are open (their first messages already
// delivered to the webhook and recorded in the ledger).
type crashStage struct {
	c         *client
	admin     string
	ledger    *crashLedger
	customers []string
}

// stageCrash prepares a crashStage: n customers numbered from first, each
// writing greeting once; retries back off from 100 ms up to maxBackoffMs.
func stageCrash(t *testing.T, in *instance, hook *hookRecorder, n, first, maxBackoffMs int, greeting string) crashStage {
	t.Helper()
	c := in.start()
	admin := bearer(login(t, c, "admin", "secret", adminPass))
	registerSandboxNumber(t, c, admin)
	in.waitConnected(c, admin)
	c.do(t, "PATCH", "/v1/settings/application", admin, map[string]any{
		"webhooks":                      map[string]any{"url": hook.url()},
		"sent_status":                   true,
		"callback_backoff_delay_ms":     100,
		"max_callback_backoff_delay_ms": maxBackoffMs,
	}).expect(t, 200)
	c.do(t, "PATCH", "/sandbox/v1/world", admin, `{"delivery_delay_ms":0,"read_delay_ms":0}`).expect(t, 200)
	ledger := &crashLedger{outbound: map[string]string{}, inbound: map[string]string{}}
	customers := make([]string, n)
	body, _ := json.Marshal(map[string]any{"type": "text", "text": map[string]string{"body": greeting}})
	for i := range customers {
		customers[i] = fmt.Sprintf("1555000%04d", first+i)
		r := c.do(t, "POST", "/sandbox/v1/users/"+customers[i]+"/messages", admin, string(body)).expect(t, 201)
		ledger.received(firstMessageID(r.body), customers[i])
	}
	// The windows are open once the business has seen the messages.
	settleCrash(t, in, c, admin, hook, ledger, "opening the windows")
	return crashStage{c: c, admin: admin, ledger: ledger, customers: customers}
}

// strictTiming says whether upper bounds on real time (a retry no later than
// its delay plus some slack, a hanging POST abandoned in time) fail a test.
// They do in scripts/crash (WABIZ_TEST_STRICT_TIMING=1), on a machine given
// to the run; in `go test ./...` a busy machine may make anything late, so
// only what cannot depend on speed (nothing early, nothing lost) fails, and
// the lateness is logged.
func strictTiming() bool { return os.Getenv("WABIZ_TEST_STRICT_TIMING") != "" }
