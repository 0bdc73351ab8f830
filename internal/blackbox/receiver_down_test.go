package blackbox

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// The receiver-down test's settings: small backoffs and a short POST
// timeout keep it short; the phases are long enough for several retries.
const (
	downBackoffStep = 300 * time.Millisecond // callback_backoff_delay_ms
	downBackoffCap  = 900 * time.Millisecond // max_callback_backoff_delay_ms
	downPostTimeout = time.Second            // WABIZ_WEBHOOK_TIMEOUT
	downErrorPhase  = 3500 * time.Millisecond
	downHangPhase   = 2500 * time.Millisecond
	downRefusePhase = 2 * time.Second
	downCustomers   = 5
	downEarly       = 30 * time.Millisecond // clock and scheduling slack below the configured delay
	// Above it, a retry may be late: the dispatcher claims from the
	// database, and a busy machine (CI runs the engines' tests side by side)
	// can delay one round by a second or two. Any single retry may be late by
	// downLateAllowed; half of them by no more than downLateTypical, which
	// catches a delay computed wrongly.
	downLateAllowed  = 3 * time.Second
	downLateTypical  = 250 * time.Millisecond
	downRecoverLimit = downBackoffCap + 3*time.Second
	// The client's clock for a hanging POST starts before the receiver's
	// handler does (connecting, a busy machine).
	downHangEarly = 250 * time.Millisecond
)

// TestWebhookReceiverDown takes the webhook receiver down in the three ways a
// real one fails: it answers 500, it accepts the POST and never answers, and
// it refuses connections. Messages are sent and inbound messages injected
// meanwhile. Then the receiver comes back: everything queued must be
// delivered, once, promptly. While the receiver was observable (answering
// 500 or hanging), the spacing of each callback's attempts must follow the
// settings: after the n-th failure the next attempt comes n ×
// callback_backoff_delay_ms later, capped at max_callback_backoff_delay_ms,
// counted from the end of the failed POST; a hanging POST is abandoned after
// WABIZ_WEBHOOK_TIMEOUT.
func TestWebhookReceiverDown(t *testing.T) {
	t.Parallel()
	hook := newHookRecorder(t)
	in := newInstance(t, store.SQLite, "WABIZ_WEBHOOK_ALLOW_HTTP=true", "WABIZ_WEBHOOK_TIMEOUT="+downPostTimeout.String())
	c := in.start()
	admin := bearer(login(t, c, "admin", "secret", adminPass))
	registerSandboxNumber(t, c, admin)
	in.waitConnected(c, admin)
	c.do(t, "PATCH", "/v1/settings/application", admin, map[string]any{
		// Enough POSTs at once that hanging ones do not hold back the
		// retries whose spacing is measured.
		"webhooks":                      map[string]any{"url": hook.url(), "max_concurrent_requests": 24},
		"sent_status":                   true,
		"callback_backoff_delay_ms":     downBackoffStep.Milliseconds(),
		"max_callback_backoff_delay_ms": downBackoffCap.Milliseconds(),
	}).expect(t, 200)
	c.do(t, "PATCH", "/sandbox/v1/world", admin, `{"delivery_delay_ms":0,"read_delay_ms":0}`).expect(t, 200)

	ledger := &crashLedger{outbound: map[string]string{}, inbound: map[string]string{}}
	customers := make([]string, downCustomers)
	inject := func(i int, text string) {
		from := customers[i%len(customers)]
		r := c.do(t, "POST", "/sandbox/v1/users/"+from+"/messages", admin,
			map[string]any{"type": "text", "text": map[string]string{"body": text}}).expect(t, 201)
		ledger.received(firstMessageID(r.body), from)
	}
	send := func(i int, text string) {
		to := customers[i%len(customers)]
		r := c.do(t, "POST", "/v1/messages", admin,
			map[string]any{"to": to, "type": "text", "text": map[string]string{"body": text}}).expect(t, 201)
		ledger.accept(firstMessageID(r.body), to)
	}
	for i := range customers {
		customers[i] = fmt.Sprintf("1555000%04d", 3000+i)
		inject(i, "Hello")
	}
	settleCrash(t, in, c, admin, hook, ledger, "opening the windows")
	hold := func(d time.Duration) { in.waitUntil(d, 50*time.Millisecond, func() bool { return false }) }

	// Answering 500.
	hook.answerWith(http.StatusInternalServerError)
	for i := range customers {
		send(i, "While the receiver answers 500")
	}
	inject(0, "A question while the receiver answers 500")
	hold(downErrorPhase)

	// Hanging: POSTs are accepted and never answered.
	hook.hang()
	for i := range 3 {
		send(i, "While the receiver hangs")
	}
	hold(downHangPhase)

	// Refusing connections.
	refusedAt := time.Now() // before: closing ends the hanging POSTs
	hook.refuse()
	for i := range 3 {
		send(i+2, "While the receiver refuses connections")
	}
	inject(1, "A question while the receiver is gone")
	hold(downRefusePhase)

	// Back.
	hook.answerWith(http.StatusOK)
	hook.listen()
	upAt := time.Now()
	settleCrash(t, in, c, admin, hook, ledger, "after the receiver came back")
	recovered := time.Since(upAt)
	if recovered > downRecoverLimit {
		t.Errorf("everything was delivered %s after the receiver came back; with retries capped at %s it should take at most %s",
			recovered.Round(time.Millisecond), downBackoffCap, downRecoverLimit)
	}
	snap := hook.snapshot()
	if s, m := snap.duplicates(); s+m > 0 {
		t.Errorf("duplicate callbacks without a crash: %d statuses, %d messages", s, m)
	}

	// The retry spacing, over every pair of attempts seen before the
	// receiver began refusing connections (after that, attempts are not
	// seen, so the count is unknown).
	var (
		gaps, hangs []string
		checked     int
		worstEarly  time.Duration
		worstLate   time.Duration
		byAttempt   = map[int][]time.Duration{}
		lateness    []time.Duration
	)
	for key, attempts := range hook.attemptLog() {
		for i, a := range attempts {
			if a.outcome == 0 {
				if took := a.ended.Sub(a.arrived); a.ended.Before(refusedAt) &&
					(took < downPostTimeout-downHangEarly || took > downPostTimeout+downLateAllowed && strictTiming()) {
					hangs = append(hangs, fmt.Sprintf("%s: a hanging POST was abandoned after %s", key, took.Round(time.Millisecond)))
				}
			}
			if i+1 >= len(attempts) || a.outcome == http.StatusOK || !attempts[i+1].arrived.Before(refusedAt) {
				continue
			}
			want := min(time.Duration(i+1)*downBackoffStep, downBackoffCap)
			got := attempts[i+1].arrived.Sub(a.ended)
			checked++
			byAttempt[i+1] = append(byAttempt[i+1], got)
			worstEarly = max(worstEarly, want-got)
			worstLate = max(worstLate, got-want)
			lateness = append(lateness, got-want)
			if got < want-downEarly || got > want+downLateAllowed && strictTiming() {
				gaps = append(gaps, fmt.Sprintf("%s: retry %d came %s after the failed POST ended, want %s",
					key, i+1, got.Round(time.Millisecond), want))
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d retry gaps observed; the phases are too short to check the backoff", checked)
	}
	slices.Sort(lateness)
	if median := lateness[len(lateness)/2]; median > downLateTypical && strictTiming() {
		t.Errorf("retries come %s later than configured (median over %d); want within %s", median.Round(time.Millisecond), checked, downLateTypical)
	}
	slices.Sort(gaps)
	if len(gaps) > 0 {
		t.Errorf("%d of %d retry gaps off the configured backoff (%s × n, capped at %s):\n  %s",
			len(gaps), checked, downBackoffStep, downBackoffCap, strings.Join(gaps[:min(len(gaps), 15)], "\n  "))
	}
	if len(hangs) > 0 {
		t.Errorf("hanging POSTs not abandoned after WABIZ_WEBHOOK_TIMEOUT=%s:\n  %s", downPostTimeout, strings.Join(hangs[:min(len(hangs), 10)], "\n  "))
	}
	var spacing strings.Builder
	for n := 1; len(byAttempt[n]) > 0; n++ {
		g := byAttempt[n]
		slices.Sort(g)
		fmt.Fprintf(&spacing, " after failure %d: want %s, median %s (%d);", n,
			min(time.Duration(n)*downBackoffStep, downBackoffCap), g[len(g)/2].Round(time.Millisecond), len(g))
	}
	t.Logf("receiver down (500 %s, hanging %s, refusing %s): %d messages and %d inbound, all delivered once %s after it came back; %d POSTs (%d failed); %d retry gaps checked, earliest %s before and latest %s after the configured delay;%s",
		downErrorPhase, downHangPhase, downRefusePhase, len(ledger.outbound), len(ledger.inbound), recovered.Round(time.Millisecond),
		snap.posts, snap.refused, checked, worstEarly.Round(time.Millisecond), worstLate.Round(time.Millisecond), spacing.String())
	in.stop()
}
