package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Load is how requests are offered: Concurrency workers back to back, or
// Rate requests a second (open loop) when Rate > 0. The run stops after
// Messages requests, or at Duration, whichever comes first (0 = no limit;
// one of them must be set).
type Load struct {
	Concurrency int
	Rate        float64
	Messages    int
	Duration    time.Duration
	// MaxInFlight bounds the requests open at once in rate mode: a request
	// due while the bound is reached is counted as "client saturated".
	MaxInFlight int
}

// target is where requests go and what they carry.
type target struct {
	url    string // http://host:port/v1/messages
	auth   string // Authorization header, "" for none
	bodies [][]byte
	// more are further URLs, as url of other web nodes: request n goes to
	// the n-th of url and more, round robin.
	more []string
}

// urlFor is where request n goes.
func (t target) urlFor(n int) string {
	if i := n % (len(t.more) + 1); i > 0 {
		return t.more[i-1]
	}
	return t.url
}

// driveResult is what the client side saw.
type driveResult struct {
	Sent     int
	Accepted int
	Elapsed  time.Duration
	Accept   []time.Duration
	Errors   map[string]int
	// CutOff counts requests still unanswered when --duration ran out;
	// the server may have accepted them (their callbacks still arrive).
	CutOff int
	// AcceptedAt maps each accepted message id to when its answer arrived.
	AcceptedAt map[string]time.Time
}

// newHTTPClient keeps one idle keep-alive connection per worker.
func newHTTPClient(conns int) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

type recorder struct {
	mu         sync.Mutex
	accept     []time.Duration
	errors     map[string]int
	acceptedAt map[string]time.Time
	sent       atomic.Int64
	accepted   atomic.Int64
	cutOff     atomic.Int64
}

func (r *recorder) ok(id string, lat time.Duration, at time.Time) {
	r.accepted.Add(1)
	r.mu.Lock()
	r.accept = append(r.accept, lat)
	if id != "" {
		r.acceptedAt[id] = at
	}
	r.mu.Unlock()
}

func (r *recorder) fail(key string, lat time.Duration) {
	r.mu.Lock()
	r.errors[key]++
	r.mu.Unlock()
}

// drive runs the load against t and returns what it saw.
func drive(ctx context.Context, t target, l Load) driveResult {
	rec := &recorder{errors: map[string]int{}, acceptedAt: map[string]time.Time{}}
	conns := l.Concurrency
	if l.Rate > 0 {
		conns = max(conns, l.MaxInFlight)
	}
	hc := newHTTPClient(max(conns, 1))
	defer hc.CloseIdleConnections()
	if l.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.Duration)
		defer cancel()
	}
	var seq atomic.Int64 // requests claimed
	claim := func() (int, bool) {
		n := seq.Add(1)
		if l.Messages > 0 && n > int64(l.Messages) {
			return 0, false
		}
		return int(n - 1), true
	}
	one := func(n int, start time.Time) {
		rec.sent.Add(1)
		id, key := post(ctx, hc, t.urlFor(n), t.auth, t.bodies[n%len(t.bodies)])
		now := time.Now()
		if key != "" {
			if ctx.Err() != nil && key == "transport" {
				rec.cutOff.Add(1) // cut off by the end of the run, not a server error
				return
			}
			rec.fail(key, now.Sub(start))
			return
		}
		rec.ok(id, now.Sub(start), now)
	}
	begin := time.Now()
	var wg sync.WaitGroup
	if l.Rate <= 0 {
		for range max(l.Concurrency, 1) {
			wg.Go(func() {
				for ctx.Err() == nil {
					n, ok := claim()
					if !ok {
						return
					}
					one(n, time.Now())
				}
			})
		}
	} else {
		// Open loop: request n is due at begin + n/Rate; its latency counts
		// from when it was due, so a slow server cannot hide queueing
		// (no coordinated omission).
		maxIn := max(l.MaxInFlight, 1)
		sem := make(chan struct{}, maxIn)
		interval := time.Duration(float64(time.Second) / l.Rate)
	loop:
		for {
			n, ok := claim()
			if !ok {
				break
			}
			due := begin.Add(time.Duration(n) * interval)
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					break loop
				case <-time.After(d):
				}
			}
			if ctx.Err() != nil {
				break
			}
			select {
			case sem <- struct{}{}:
			default:
				rec.sent.Add(1)
				rec.fail("client saturated", 0)
				continue
			}
			wg.Go(func() {
				defer func() { <-sem }()
				one(n, due)
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(begin)
	return driveResult{
		Sent: int(rec.sent.Load()), Accepted: int(rec.accepted.Load()), Elapsed: elapsed,
		Accept: rec.accept, Errors: rec.errors, CutOff: int(rec.cutOff.Load()), AcceptedAt: rec.acceptedAt,
	}
}

// post sends one message and returns its id, or an error key ("" when
// accepted): "HTTP 400 / 1009", "HTTP 503", "transport".
func post(ctx context.Context, hc *http.Client, url, auth string, body []byte) (string, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", "request: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", "transport"
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return "", "transport"
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", errorKey(resp.StatusCode, raw)
	}
	var out struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if json.Unmarshal(raw, &out) != nil || len(out.Messages) == 0 || out.Messages[0].ID == "" {
		return "", fmt.Sprintf("HTTP %d without a message id", resp.StatusCode)
	}
	return out.Messages[0].ID, ""
}

// errorKey names a refusal by its status and On-Premises error code.
func errorKey(status int, raw []byte) string {
	var env struct {
		Errors []struct {
			Code int `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(raw, &env) == nil && len(env.Errors) > 0 {
		return fmt.Sprintf("HTTP %d / %d", status, env.Errors[0].Code)
	}
	return fmt.Sprintf("HTTP %d", status)
}

// textBodies builds one text message body per recipient.
func textBodies(recipients []string) [][]byte {
	out := make([][]byte, len(recipients))
	for i, to := range recipients {
		out[i], _ = json.Marshal(map[string]any{
			"to": to, "recipient_type": "individual", "type": "text",
			"text": map[string]string{"body": "wabiz-bench: your order #" + to + " has shipped and will arrive tomorrow."},
		})
	}
	return out
}

// baseline serves POST /v1/messages with a trivial handler in this process:
// it decodes the JSON as a server must and answers 201 with an id. Driving
// it the same way shows what the machine and the client side can do.
func baseline() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m["to"] == nil {
			http.Error(w, `{"errors":[{"code":1009}]}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"messages":[{"id":"gBbench%016X"}],"meta":{"api_status":"stable","version":"baseline"}}`, n.Add(1))
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/v1/messages", func() { srv.Close() }, nil
}
