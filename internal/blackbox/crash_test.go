package blackbox

import (
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// The crash test's shape. The round count is small for CI; set
// WABIZ_CRASH_ROUNDS for a longer run (scripts/crash runs 10), and
// WABIZ_CRASH_SEED to replay the kill moments of an earlier run.
const (
	crashRounds    = 3
	crashCustomers = 20  // simulated users with an open 24-hour window
	crashSends     = 200 // messages sent per round, unless the kill comes first
	crashSenders   = 4   // goroutines sending them
	crashInbound   = 5   // inbound messages injected per round
	// crashSettle bounds the wait for every callback after a restart.
	crashSettle = 60 * time.Second
	crashPoll   = 20 * time.Millisecond

	// crashDuplicateBound is the most duplicate callbacks one kill may
	// cause: everything that can be in flight at that instant. The webhook
	// dispatcher's POSTs answered but not yet removed from the queue
	// (webhooks.max_concurrent_requests 6 × WABIZ_WEBHOOK_BATCH_MAX 20),
	// the outbox worker's sends whose "sent" callback is queued but whose
	// status is not recorded (one per recipient, 32 at once), and a batch
	// of network events whose callbacks are queued but which are not yet
	// acknowledged (256).
	crashDuplicateBound = 6*20 + 32 + 256
)

// TestCrashSafety checks the design's promise that a crash (kill -9) loses
// nothing the server acknowledged. Each round sends messages from several
// goroutines and injects inbound messages, and kills the server at a random
// moment: in the middle of the sends, or just after them while the worker,
// the network events and the webhook queue are busy. Odd rounds run with a
// receiver that refuses every callback (so the kill hits a full queue), even
// rounds with one that accepts them (so it hits deliveries in flight). After
// a restart on the same database, every message answered 201 must reach a
// final status (read or failed) on the webhook and every inbound message the
// sandbox acknowledged must arrive. Requests cut short by the kill got no
// answer: their messages may or may not exist, and nothing is owed for them.
// Duplicates are allowed (delivery is at least once) only as a consequence
// of a kill: none may appear between kills, and one kill may cause at most
// crashDuplicateBound.
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
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("WABIZ_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("WABIZ_CRASH_SEED=%q: want a number", v)
		}
		seed = n
	}
	t.Logf("kill moments from WABIZ_CRASH_SEED=%d", seed)
	forEachEngine(t, func(t *testing.T, engine store.Dialect) {
		runCrashSafety(t, engine, rounds, rand.New(rand.NewPCG(seed, uint64(crc32.ChecksumIEEE([]byte(engine))))))
	})
}

// crashLedger is what the server acknowledged: outbound ids (with their
// recipient) and inbound ids; and how many requests the kills cut short.
type crashLedger struct {
	mu         sync.Mutex
	outbound   map[string]string // id -> recipient
	inbound    map[string]string // id -> sender
	cutSends   int               // sends in flight at a kill: no answer
	cutInbound int               // injections in flight at a kill
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

// crashKill says when a round's kill comes: after the afterSends-th
// accepted send, or, when afterSends is 0, delay after the last answer.
type crashKill struct {
	afterSends int
	delay      time.Duration
}

func (k crashKill) String() string {
	if k.afterSends > 0 {
		return fmt.Sprintf("after %d accepted sends", k.afterSends)
	}
	return fmt.Sprintf("%s after the last send", k.delay)
}

func pickKill(rng *rand.Rand) crashKill {
	// Four times in five during the sends, otherwise shortly after them.
	if n := rng.IntN(crashSends * 5 / 4); n < crashSends {
		return crashKill{afterSends: n + 1}
	}
	return crashKill{delay: time.Duration(rng.IntN(400)) * time.Millisecond}
}

func runCrashSafety(t *testing.T, engine store.Dialect, rounds int, rng *rand.Rand) {
	hook := newHookRecorder(t)
	in := newInstance(t, engine, "WABIZ_WEBHOOK_ALLOW_HTTP=true")
	st := stageCrash(t, in, hook, crashCustomers, 1000, 500, "Hello, is anyone there?")
	c, admin, ledger, customers := st.c, st.admin, st.ledger, st.customers
	waitQueueEmpty(t, in, c, admin, "opening the windows")

	start := time.Now()
	var worstRecovery time.Duration
	dupS, dupM := hook.snapshot().duplicates()
	for round := 1; round <= rounds; round++ {
		refusing := round%2 == 1
		if refusing {
			hook.answerWith(http.StatusInternalServerError)
		}
		before := hook.snapshot()
		kill := pickKill(rng)
		b := crashBatch(t, in, c, admin, ledger, customers, round, kill)
		killedAt := time.Now()
		atKill := hook.snapshot()
		if s, m := atKill.duplicates(); s != dupS || m != dupM {
			t.Fatalf("round %d: duplicate callbacks appeared before the kill (statuses %d -> %d, messages %d -> %d): only a kill may cause them",
				round, dupS, s, dupM, m)
		}
		hook.answerWith(http.StatusOK)
		c = in.start()
		settleCrash(t, in, c, admin, hook, ledger, fmt.Sprintf("round %d", round))
		recovered := time.Since(killedAt)
		worstRecovery = max(worstRecovery, recovered)
		in.waitConnected(c, admin)
		waitQueueEmpty(t, in, c, admin, fmt.Sprintf("round %d", round))

		s, m := hook.snapshot().duplicates()
		if added := s + m - dupS - dupM; added > crashDuplicateBound {
			t.Errorf("round %d: one kill caused %d duplicate callbacks, more than could have been in flight (%d)", round, added, crashDuplicateBound)
		}
		receiver := "accepting"
		if refusing {
			receiver = "refusing"
		}
		t.Logf("round %d (receiver %s, kill %s): %d sent + %d inbound accepted, %d + %d cut short; %d POSTs refused before the kill; everything delivered %s after the kill; this kill's duplicates: %d statuses, %d messages",
			round, receiver, kill, b.sent, b.inbound, b.cutSends, b.cutInbound, atKill.refused-before.refused,
			recovered.Round(time.Millisecond), s-dupS, m-dupM)
		dupS, dupM = s, m
	}
	final := hook.snapshot()
	failed := 0
	for id := range ledger.outbound {
		if final.statuses[id]["failed"] > 0 {
			failed++
		}
	}
	t.Logf("%s: %d rounds in %s: %d messages accepted (%d failed), %d inbound, %d + %d requests cut short by the kills; %d POSTs (%d refused); duplicate callbacks: %d statuses, %d messages; slowest recovery %s",
		engine, rounds, time.Since(start).Round(time.Millisecond), len(ledger.outbound), failed, len(ledger.inbound),
		ledger.cutSends, ledger.cutInbound, final.posts, final.refused, dupS, dupM, worstRecovery.Round(time.Millisecond))
	in.stop()
}

// crashRound counts one round's requests.
type crashRound struct {
	sent, inbound        int // answered 201
	cutSends, cutInbound int // in flight at the kill
}

// crashBatch sends up to crashSends messages from crashSenders goroutines
// and, beside them, injects crashInbound inbound messages, and kills the
// server as kill says. Every id answered 201 goes into the ledger. A request
// that fails once the kill has begun was cut short by it; any other failure
// fails the test: the server was up and ready until then.
func crashBatch(t *testing.T, in *instance, c *client, admin string, ledger *crashLedger, customers []string, round int, kill crashKill) crashRound {
	t.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		errs     []string
		res      crashRound
		accepted atomic.Int64
		killed   atomic.Bool
		trigger  = make(chan struct{})
		once     sync.Once
	)
	// outcome sorts one answer; it reports whether the goroutine goes on.
	outcome := func(err error, cut *int) bool {
		if err == nil {
			return !killed.Load()
		}
		mu.Lock()
		defer mu.Unlock()
		if killed.Load() {
			*cut++
			return false
		}
		errs = append(errs, err.Error())
		return true
	}
	for g := range crashSenders {
		wg.Go(func() {
			for i := g; i < crashSends && !killed.Load(); i += crashSenders {
				to := customers[i%len(customers)]
				body := fmt.Sprintf(`{"to":"%s","type":"text","text":{"body":"Round %d, message %d"}}`, to, round, i)
				_, answer, err := c.tryDo("POST", "/v1/messages", admin, body)
				id := firstMessageID(answer)
				if err == nil && id == "" {
					err = fmt.Errorf("send to %s: no message id in %v", to, answer)
				}
				if err == nil {
					ledger.accept(id, to)
					mu.Lock()
					res.sent++
					mu.Unlock()
					if kill.afterSends > 0 && accepted.Add(1) == int64(kill.afterSends) {
						once.Do(func() { close(trigger) })
					}
				}
				if !outcome(err, &res.cutSends) {
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; i < crashInbound && !killed.Load(); i++ {
			from := customers[(round*7+i*3)%len(customers)]
			body := fmt.Sprintf(`{"type":"text","text":{"body":"Round %d, question %d"}}`, round, i)
			_, answer, err := c.tryDo("POST", "/sandbox/v1/users/"+from+"/messages", admin, body)
			id := firstMessageID(answer)
			if err == nil && id == "" {
				err = fmt.Errorf("inbound from %s: no message id in %v", from, answer)
			}
			if err == nil {
				ledger.received(id, from)
				mu.Lock()
				res.inbound++
				mu.Unlock()
			}
			if !outcome(err, &res.cutInbound) {
				return
			}
			// Spread over the sends rather than all at the start.
			time.Sleep(time.Duration(crashSends/crashInbound) * time.Millisecond)
		}
	})
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-trigger:
	case <-finished:
		time.Sleep(kill.delay)
	}
	killed.Store(true)
	in.crash() // SIGKILL while sends, events and callbacks are in flight
	<-finished
	if len(errs) > 0 {
		t.Fatalf("round %d: %d requests failed on a running server; first: %s", round, len(errs), errs[0])
	}
	ledger.mu.Lock()
	ledger.cutSends += res.cutSends
	ledger.cutInbound += res.cutInbound
	ledger.mu.Unlock()
	return res
}

// waitQueueEmpty waits until the server's callback queue is empty, so that
// nothing owed from before (a duplicate queued by the last kill) arrives
// during the next round.
func waitQueueEmpty(t *testing.T, in *instance, c *client, admin, stage string) {
	t.Helper()
	var last string
	if !in.waitUntil(crashSettle, crashPoll, func() bool {
		n, err := callbackQueueSize(c, admin)
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprint(n)
		return n == 0
	}) {
		t.Fatalf("%s: the callback queue did not empty within %s (last: %s)", stage, crashSettle, last)
	}
}

// callbackQueueSize reads wabiz_callback_queue_size from /metrics in the
// Prometheus text format.
func callbackQueueSize(c *client, auth string) (int, error) {
	req, err := http.NewRequest("GET", c.base+"/metrics?format=prometheus", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", auth)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "wabiz_callback_queue_size "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no wabiz_callback_queue_size in /metrics (status %d)", resp.StatusCode)
}

// settleCrash waits until the receiver has everything the server owes it:
// a final status (read or failed) for every accepted message, with the sent
// and delivered statuses before it for a message that was read (sent_status
// is on), and every inbound message. Then it checks the rest of what arrived:
// valid JSON only, statuses only for accepted ids and their recipients,
// inbound callbacks only for ids the sandbox gave out.
func settleCrash(t *testing.T, in *instance, c *client, admin string, hook *hookRecorder, ledger *crashLedger, stage string) {
	t.Helper()
	settleWithin(t, in, c, admin, hook, ledger, stage, crashSettle)
}

// settleWithin is settleCrash with its own time limit. It returns how many
// ids the receiver got statuses for without a 201 for them.
func settleWithin(t *testing.T, in *instance, c *client, admin string, hook *hookRecorder, ledger *crashLedger, stage string, limit time.Duration) int {
	t.Helper()
	ledger.mu.Lock()
	outbound := maps.Clone(ledger.outbound)
	inbound := maps.Clone(ledger.inbound)
	cutSends, cutInbound := ledger.cutSends, ledger.cutInbound
	ledger.mu.Unlock()

	var (
		snap                        hookSnapshot
		noFinal, partial, noInbound []string
	)
	settled := in.waitUntil(limit, crashPoll, func() bool {
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
			stage, limit, len(outbound), len(noFinal), len(partial), len(noInbound), len(inbound))
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
	// A send cut short by a kill may have been committed without its 201:
	// its statuses come, for an id the test never saw. No more such ids
	// than requests cut short.
	if len(stray) > cutSends {
		slices.Sort(stray)
		t.Errorf("%s: statuses for %d ids never answered 201, but only %d sends were cut short by a kill: %v", stage, len(stray), cutSends, stray)
	}
	if len(wrongRecipient) > 0 {
		t.Errorf("%s: statuses with the wrong recipient_id: %v", stage, wrongRecipient)
	}
	var strayInbound []string
	for id := range snap.inbound {
		if _, ok := inbound[id]; !ok {
			strayInbound = append(strayInbound, id)
		}
	}
	if len(strayInbound) > cutInbound {
		t.Errorf("%s: inbound callbacks for %d ids the sandbox never answered with, but only %d injections were cut short by a kill: %v",
			stage, len(strayInbound), cutInbound, strayInbound)
	}
	for id, codes := range snap.failures {
		if _, ok := outbound[id]; ok {
			t.Logf("%s: %s to %s failed with %v", stage, id, outbound[id], codes)
		}
	}
	return len(stray)
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
