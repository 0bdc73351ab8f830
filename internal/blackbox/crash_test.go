package blackbox

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// The crash test's shape. The round count is small for CI; set
// WABIZ_CRASH_ROUNDS for a longer run on a developer machine.
const (
	crashRounds    = 3
	crashCustomers = 20  // simulated users with an open 24-hour window
	crashSends     = 200 // messages sent per round
	crashSenders   = 4   // goroutines sending them
	crashInbound   = 5   // inbound messages injected per round
	// crashSettle bounds the wait for every callback after a restart.
	crashSettle = 60 * time.Second
	crashPoll   = 20 * time.Millisecond
)

// TestCrashSafety checks the design's promise that a crash (kill -9) loses
// nothing the server acknowledged: every message answered 201 reaches a
// final status (read or failed) on the webhook, and every inbound message
// the sandbox accepted arrives as a messages callback, across repeated
// SIGKILLs that hit queued sends, pending network events and a webhook
// queue full of callbacks the receiver refused. Duplicates are allowed
// (delivery is at least once) and counted.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	rounds := crashRounds
	if v := os.Getenv("WABIZ_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("WABIZ_CRASH_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	forEachEngine(t, func(t *testing.T, engine store.Dialect) {
		runCrashSafety(t, engine, rounds)
	})
}

// crashLedger is what the server acknowledged: outbound ids (with their
// recipient) and inbound ids.
type crashLedger struct {
	mu       sync.Mutex
	outbound map[string]string // id -> recipient
	inbound  map[string]string // id -> sender
}

func (l *crashLedger) accept(id, to string) {
	l.mu.Lock()
	l.outbound[id] = to
	l.mu.Unlock()
}

func (l *crashLedger) received(id, from string) {
	l.mu.Lock()
	l.inbound[id] = from
	l.mu.Unlock()
}

func runCrashSafety(t *testing.T, engine store.Dialect, rounds int) {
	hook := newHookRecorder(t)
	in := newInstance(t, engine, "WABIZ_WEBHOOK_ALLOW_HTTP=true")
	c := in.start()
	admin := bearer(login(t, c, "admin", "secret", adminPass))
	registerSandboxNumber(t, c, admin)
	in.waitConnected(c, admin)

	c.do(t, "PATCH", "/v1/settings/application", admin, map[string]any{
		"webhooks":                      map[string]any{"url": hook.url()},
		"sent_status":                   true,
		"callback_backoff_delay_ms":     100,
		"max_callback_backoff_delay_ms": 500,
	}).expect(t, 200)
	c.do(t, "PATCH", "/sandbox/v1/world", admin, `{"delivery_delay_ms":0,"read_delay_ms":0}`).expect(t, 200)

	ledger := &crashLedger{outbound: map[string]string{}, inbound: map[string]string{}}
	customers := make([]string, crashCustomers)
	for i := range customers {
		customers[i] = fmt.Sprintf("1555000%04d", 1000+i)
		r := c.do(t, "POST", "/sandbox/v1/users/"+customers[i]+"/messages", admin,
			`{"type":"text","text":{"body":"Hello, is anyone there?"}}`).expect(t, 201)
		ledger.received(firstMessageID(r.body), customers[i])
	}
	// The windows are open once the business has seen the messages.
	settleCrash(t, in, c, admin, hook, ledger, "opening the windows")

	start := time.Now()
	for round := 1; round <= rounds; round++ {
		before := hook.snapshot()
		hook.answerWith(http.StatusInternalServerError)

		sent, inbound := crashBatch(t, c, admin, ledger, customers, round)
		pending := hook.snapshot()
		in.crash() // SIGKILL while sends, events and callbacks are in flight
		killedAt := time.Now()
		hook.answerWith(http.StatusOK)
		c = in.start()
		settleCrash(t, in, c, admin, hook, ledger, fmt.Sprintf("round %d", round))
		recovered := time.Since(killedAt)
		in.waitConnected(c, admin)

		dupS, dupM := hook.snapshot().duplicates()
		t.Logf("round %d: %d sent + %d inbound accepted; %d POSTs refused before the kill; everything delivered %s after the kill; duplicates so far: %d statuses, %d messages",
			round, sent, inbound, pending.refused-before.refused, recovered.Round(time.Millisecond), dupS, dupM)
	}
	final := hook.snapshot()
	dupS, dupM := final.duplicates()
	failed := 0
	for id := range ledger.outbound {
		if final.statuses[id]["failed"] > 0 {
			failed++
		}
	}
	t.Logf("%s: %d rounds in %s: %d messages sent (%d failed), %d inbound, %d POSTs (%d refused); duplicate callbacks: %d statuses, %d messages",
		engine, rounds, time.Since(start).Round(time.Millisecond), len(ledger.outbound), failed, len(ledger.inbound),
		final.posts, final.refused, dupS, dupM)
	in.stop()
}

// crashBatch sends crashSends messages from crashSenders goroutines and,
// beside them, injects crashInbound inbound messages; every id answered 201
// goes into the ledger. Any other answer fails the test: the server was up
// and ready throughout.
func crashBatch(t *testing.T, c *client, admin string, ledger *crashLedger, customers []string, round int) (sent, inbound int) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
	)
	report := func(err error) {
		mu.Lock()
		errs = append(errs, err.Error())
		mu.Unlock()
	}
	for g := range crashSenders {
		wg.Go(func() {
			for i := g; i < crashSends; i += crashSenders {
				to := customers[i%len(customers)]
				body := fmt.Sprintf(`{"to":"%s","type":"text","text":{"body":"Round %d, message %d"}}`, to, round, i)
				_, answer, err := c.tryDo("POST", "/v1/messages", admin, body)
				if err != nil {
					report(err)
					continue
				}
				id := firstMessageID(answer)
				if id == "" {
					report(fmt.Errorf("send to %s: no message id in %v", to, answer))
					continue
				}
				ledger.accept(id, to)
				mu.Lock()
				sent++
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for i := range crashInbound {
			from := customers[(round*7+i*3)%len(customers)]
			body := fmt.Sprintf(`{"type":"text","text":{"body":"Round %d, question %d"}}`, round, i)
			_, answer, err := c.tryDo("POST", "/sandbox/v1/users/"+from+"/messages", admin, body)
			if err != nil {
				report(err)
				continue
			}
			id := firstMessageID(answer)
			if id == "" {
				report(fmt.Errorf("inbound from %s: no message id in %v", from, answer))
				continue
			}
			ledger.received(id, from)
			mu.Lock()
			inbound++
			mu.Unlock()
		}
	})
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("round %d: %d requests failed on a running server; first: %s", round, len(errs), errs[0])
	}
	return sent, inbound
}

// settleCrash waits until the receiver has everything the server owes it:
// a final status (read or failed) for every accepted message, with the sent
// and delivered statuses before it for a message that was read (sent_status
// is on), and every inbound message. Then it checks the rest of what arrived:
// valid JSON only, statuses only for accepted ids and their recipients,
// inbound callbacks only for ids the sandbox gave out.
func settleCrash(t *testing.T, in *instance, c *client, admin string, hook *hookRecorder, ledger *crashLedger, stage string) {
	t.Helper()
	ledger.mu.Lock()
	outbound := maps.Clone(ledger.outbound)
	inbound := maps.Clone(ledger.inbound)
	ledger.mu.Unlock()

	var (
		snap                        hookSnapshot
		noFinal, partial, noInbound []string
	)
	settled := in.waitUntil(crashSettle, crashPoll, func() bool {
		snap = hook.snapshot()
		noFinal, partial, noInbound = noFinal[:0], partial[:0], noInbound[:0]
		for id := range outbound {
			st := snap.statuses[id]
			switch {
			case !snap.final(id):
				noFinal = append(noFinal, id)
			case st["read"] > 0 && (st["sent"] == 0 || st["delivered"] == 0):
				partial = append(partial, id)
			}
		}
		for id := range inbound {
			if snap.inbound[id] == 0 {
				noInbound = append(noInbound, id)
			}
		}
		return len(noFinal)+len(partial)+len(noInbound) == 0
	})
	if !settled {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: after %s, of %d accepted messages %d have no final status and %d were read without their sent or delivered status; %d of %d inbound messages never arrived",
			stage, crashSettle, len(outbound), len(noFinal), len(partial), len(noInbound), len(inbound))
		for _, group := range []struct {
			what string
			ids  []string
		}{{"no final status", noFinal}, {"incomplete", partial}} {
			slices.Sort(group.ids)
			for i, id := range group.ids {
				if i == 10 {
					fmt.Fprintf(&b, "\n  ... and %d more", len(group.ids)-i)
					break
				}
				fmt.Fprintf(&b, "\n  %s: %s to %s: the webhook got %s; the phone shows %s",
					group.what, id, outbound[id], snap.seen(id), phoneStatus(c, admin, outbound[id], id))
			}
		}
		slices.Sort(noInbound)
		for i, id := range noInbound {
			if i == 10 {
				fmt.Fprintf(&b, "\n  ... and %d more", len(noInbound)-i)
				break
			}
			fmt.Fprintf(&b, "\n  inbound %s from %s never arrived", id, inbound[id])
		}
		t.Fatal(b.String())
	}

	if len(snap.malformed) > 0 {
		t.Errorf("%s: %d malformed callback bodies; first: %s", stage, len(snap.malformed), snap.malformed[0])
	}
	if len(snap.unknown) > 0 {
		t.Errorf("%s: callbacks with unexpected top-level keys: %v", stage, snap.unknown)
	}
	var stray, wrongRecipient []string
	for id := range snap.statuses {
		to, ok := outbound[id]
		switch {
		case !ok:
			stray = append(stray, id)
		case snap.recipient[id] != to:
			wrongRecipient = append(wrongRecipient, fmt.Sprintf("%s (sent to %s, status for %s)", id, to, snap.recipient[id]))
		}
	}
	if len(stray) > 0 {
		slices.Sort(stray)
		t.Errorf("%s: statuses for %d ids never answered 201: %v", stage, len(stray), stray)
	}
	if len(wrongRecipient) > 0 {
		t.Errorf("%s: statuses with the wrong recipient_id: %v", stage, wrongRecipient)
	}
	for id, n := range snap.inbound {
		if _, ok := inbound[id]; !ok {
			t.Errorf("%s: inbound callback for %s (×%d), an id the sandbox never gave out", stage, id, n)
		}
	}
	for id, codes := range snap.failures {
		if _, ok := outbound[id]; ok {
			t.Logf("%s: %s to %s failed with %v", stage, id, outbound[id], codes)
		}
	}
}

// phoneStatus is what the simulated user's phone shows for a message, for
// failure reports.
func phoneStatus(c *client, admin, waID, id string) string {
	_, body, err := c.tryDo("GET", "/sandbox/v1/users/"+waID+"/messages", admin, nil)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	received, _ := body["received"].([]any)
	for _, m := range received {
		msg, _ := m.(map[string]any)
		if msg["id"] == id {
			return fmt.Sprintf("status %v", msg["status"])
		}
	}
	return "nothing (the message never reached the user)"
}
