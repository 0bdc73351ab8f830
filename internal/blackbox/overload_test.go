package blackbox

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

const (
	overloadQueueLimit = 100 // WABIZ_WEBHOOK_QUEUE_LIMIT, its minimum
	overloadCustomers  = 10
	overloadSenders    = 2
	overloadSendPause  = 15 * time.Millisecond // per sender: about what the worker delivers
	overloadRefused    = 20                    // sends answered 1016 before the receiver comes back
	overloadFillLimit  = 30 * time.Second
	overloadDrainLimit = 30 * time.Second
)

// TestOverload fills the callback queue past WABIZ_WEBHOOK_QUEUE_LIMIT while
// the webhook receiver is down: from then on sends must be answered 503 with
// 1016 "System overloaded" (and nothing else), and once the receiver is back
// and the queue drains, sends must be accepted again by themselves. Every
// message accepted before, during and after, and every inbound message,
// must reach the webhook in the end, even the callbacks that found the
// queue full when they were produced.
func TestOverload(t *testing.T) {
	t.Parallel()
	hook := newHookRecorder(t)
	in := newInstance(t, store.SQLite, "WABIZ_WEBHOOK_ALLOW_HTTP=true",
		fmt.Sprintf("WABIZ_WEBHOOK_QUEUE_LIMIT=%d", overloadQueueLimit))
	st := stageCrash(t, in, hook, overloadCustomers, 4000, 300, "Hello")
	c, admin, ledger, customers := st.c, st.admin, st.ledger, st.customers

	// The receiver goes away; sends continue until overloadRefused of them
	// were answered 1016.
	hook.refuse()
	var (
		mu              sync.Mutex
		accepted        int
		refused         int
		firstRefusal    time.Time
		wrong           []string
		acceptedAfter   int // sent after the first 1016 was answered, and accepted: none may be
		sendsBeforeFull int
	)
	// sentAt is when the send left: a send that overtook the first 1016 on
	// the way (several senders run at once) was checked against the queue
	// before it filled, and may be accepted.
	classify := func(status int, body map[string]any, err error, to string, sentAt time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if id := firstMessageID(body); err == nil && status == http.StatusCreated && id != "" {
			ledger.accept(id, to)
			accepted++
			if !firstRefusal.IsZero() && sentAt.After(firstRefusal) {
				acceptedAfter++
			}
			return
		}
		errs, _ := body["errors"].([]any)
		var first map[string]any
		if len(errs) > 0 {
			first, _ = errs[0].(map[string]any)
		}
		if status == http.StatusServiceUnavailable && fmt.Sprint(first["code"]) == "1016" && first["title"] == "System overloaded" {
			if firstRefusal.IsZero() {
				firstRefusal = time.Now()
				sendsBeforeFull = accepted
			}
			refused++
			return
		}
		if len(wrong) < 5 {
			wrong = append(wrong, fmt.Sprintf("status %d, %v (%v)", status, body, err))
		}
	}
	deadline := time.Now().Add(overloadFillLimit)
	var wg sync.WaitGroup
	for g := range overloadSenders {
		wg.Go(func() {
			for i := g; time.Now().Before(deadline); i += overloadSenders {
				mu.Lock()
				done := refused >= overloadRefused || len(wrong) > 0
				mu.Unlock()
				if done {
					return
				}
				to := customers[i%len(customers)]
				sentAt := time.Now()
				status, body, err := c.tryDo("POST", "/v1/messages", admin,
					fmt.Sprintf(`{"to":"%s","type":"text","text":{"body":"Overload test, message %d"}}`, to, i))
				classify(status, body, err, to, sentAt)
				time.Sleep(overloadSendPause)
			}
		})
	}
	// Inbound messages keep arriving meanwhile; their callbacks queue too.
	for i := range 3 {
		from := customers[i]
		r := c.do(t, "POST", "/sandbox/v1/users/"+from+"/messages", admin,
			`{"type":"text","text":{"body":"A question while the receiver is down"}}`).expect(t, 201)
		ledger.received(firstMessageID(r.body), from)
	}
	wg.Wait()
	if len(wrong) > 0 {
		t.Fatalf("sends while the queue filled were answered other than 201 or 503/1016: %v", wrong)
	}
	if refused < overloadRefused {
		t.Fatalf("after %s and %d accepted sends, only %d answered 1016", overloadFillLimit, accepted, refused)
	}
	if acceptedAfter > 0 {
		t.Errorf("%d sends were accepted after the first 1016 while the receiver was still down", acceptedAfter)
	}
	queued, err := callbackQueueSize(c, admin)
	if err != nil {
		t.Fatal(err)
	}
	if queued < overloadQueueLimit {
		t.Errorf("the queue holds %d callbacks while sends answer 1016; the limit is %d", queued, overloadQueueLimit)
	}

	// The receiver comes back; sends are accepted again once the queue
	// has drained below the limit.
	hook.listen()
	upAt := time.Now()
	var refusedDuringDrain int
	var acceptedAt time.Time
	if !in.waitUntil(overloadDrainLimit, 50*time.Millisecond, func() bool {
		to := customers[0]
		status, body, err := c.tryDo("POST", "/v1/messages", admin,
			fmt.Sprintf(`{"to":"%s","type":"text","text":{"body":"After the overload"}}`, to))
		before := refused
		classify(status, body, err, to, time.Time{}) // the receiver is back: an accept is what is awaited
		if refused > before {
			refusedDuringDrain++
			return false
		}
		acceptedAt = time.Now()
		return status == http.StatusCreated
	}) {
		t.Fatalf("sends still not accepted %s after the receiver came back", overloadDrainLimit)
	}
	if len(wrong) > 0 {
		t.Fatalf("sends while the queue drained were answered other than 201 or 503/1016: %v", wrong)
	}
	settleCrash(t, in, c, admin, hook, ledger, "after the overload")
	snap := hook.snapshot()
	dupS, dupM := snap.duplicates()
	if dupS+dupM > 0 {
		t.Errorf("duplicate callbacks without a crash: %d statuses, %d messages", dupS, dupM)
	}
	t.Logf("queue limit %d: %d sends accepted before the first 1016, then %d answered 503/1016 (queue at %d); receiver back: sends accepted again after %s (%d more 1016 meanwhile); %d messages and %d inbound delivered in all, no duplicates",
		overloadQueueLimit, sendsBeforeFull, refused-refusedDuringDrain, queued, acceptedAt.Sub(upAt).Round(time.Millisecond),
		refusedDuringDrain, len(ledger.outbound), len(ledger.inbound))
	in.stop()
}
