package bench

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// receiver is the in-process webhook receiver (plain HTTP on 127.0.0.1).
// It records when each message's "delivered" status arrived.
type receiver struct {
	url string
	srv *http.Server
	mu  sync.Mutex

	requests    int
	statuses    int
	first, last time.Time
	delivered   map[string]time.Time
	byStatus    map[string]int
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{delivered: map[string]time.Time{}, byStatus: map[string]int{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	r.url = "http://" + ln.Addr().String() + "/hook"
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) close() { r.srv.Close() }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(req.Body, 32<<20))
	now := time.Now()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var body struct {
		Statuses []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"statuses"`
	}
	_ = json.Unmarshal(raw, &body) // inbound messages and errors have no statuses
	r.mu.Lock()
	if r.requests == 0 {
		r.first = now
	}
	r.requests++
	r.last = now
	for _, s := range body.Statuses {
		r.statuses++
		r.byStatus[s.Status]++
		if s.Status == "delivered" {
			if _, seen := r.delivered[s.ID]; !seen {
				r.delivered[s.ID] = now
			}
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// reset forgets what arrived so far (the recipients' own messages).
func (r *receiver) reset() {
	r.mu.Lock()
	r.requests, r.statuses = 0, 0
	r.first, r.last = time.Time{}, time.Time{}
	r.delivered = map[string]time.Time{}
	r.byStatus = map[string]int{}
	r.mu.Unlock()
}

// waitDelivered waits until every id in ids has its delivered status, or
// until the deadline; it returns how many arrived. It polls: waking on
// every callback would compete with the server for the CPU.
func (r *receiver) waitDelivered(ids map[string]time.Time, deadline time.Time) int {
	for {
		r.mu.Lock()
		n := 0
		for id := range ids {
			if _, ok := r.delivered[id]; ok {
				n++
			}
		}
		r.mu.Unlock()
		if n == len(ids) || !time.Now().Before(deadline) {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deliveredCount is how many messages have their delivered status so far.
func (r *receiver) deliveredCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.delivered)
}

// deliveredRate is how many of the accepted messages were reported
// delivered per second, from the first accept to the last delivered
// callback: the rate the whole pipeline sustained.
func (r *receiver) deliveredRate(acceptedAt map[string]time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first, last time.Time
	n := 0
	for id, at := range acceptedAt {
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if d, ok := r.delivered[id]; ok {
			n++
			if d.After(last) {
				last = d
			}
		}
	}
	if n == 0 || !last.After(first) {
		return 0
	}
	return float64(n) / last.Sub(first).Seconds()
}

// callbackStats is the receiver's side of the run.
type callbackStats struct {
	Requests    int            `json:"callback_requests"`
	Statuses    int            `json:"statuses"`
	ByStatus    map[string]int `json:"statuses_by_kind"`
	RequestsSec float64        `json:"callback_requests_per_sec"`
	StatusesSec float64        `json:"statuses_per_sec"`
}

// result joins the accept times with the delivered times.
func (r *receiver) result(acceptedAt map[string]time.Time) (callbackStats, []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := callbackStats{Requests: r.requests, Statuses: r.statuses, ByStatus: map[string]int{}}
	for k, v := range r.byStatus {
		cs.ByStatus[k] = v
	}
	if span := r.last.Sub(r.first).Seconds(); span > 0 {
		cs.RequestsSec = float64(r.requests) / span
		cs.StatusesSec = float64(r.statuses) / span
	}
	var lat []time.Duration
	for id, at := range acceptedAt {
		if d, ok := r.delivered[id]; ok {
			// The callback can overtake the answer by a hair: count it as 0.
			lat = append(lat, max(d.Sub(at), 0))
		}
	}
	return cs, lat
}
