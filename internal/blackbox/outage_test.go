package blackbox

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// The database outage tests. wabiz runs with a small WABIZ_DB_TIMEOUT so the
// bound on an answer during the outage is short: a request checks its token
// and stores its message, each bounded by it.
const (
	outageDBTimeout = time.Second
	// outageAnswerBound is the longest any request may take while the
	// database is away: two bounded database steps and slack for a busy
	// machine. The stall lasts longer, so a request that waited for the
	// database to come back would exceed it.
	outageAnswerBound = 2*outageDBTimeout + 2*time.Second
	outageStall       = outageAnswerBound + time.Second
	outageCustomers   = 10
	outageSenders     = 4
	outageSendPause   = 40 * time.Millisecond // per sender, between requests
	outageInjectPause = 200 * time.Millisecond
	outageRecovery    = 20 * time.Second // from the database's return to the first 201
	outageSettle      = 90 * time.Second
)

// TestDatabaseOutage takes PostgreSQL away from a loaded server through a
// TCP proxy: first a cut (every connection closed, new ones refused, as when
// the server stops), then a stall (connections open, nothing answered, as
// when a network drops packets), then brings it back. Throughout, messages
// are sent, inbound messages injected and health polled. While the database
// is away every send must be answered within outageAnswerBound with the
// documented error (500, code 1023 "Database error occurred"), the process
// must stay up, and once the database is back it must accept sends again by
// itself; in the end every message answered 201 reaches a final status and
// every inbound message the webhook.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Dialect{store.Postgres, store.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			proxy := newTCPProxy(t, dbServerAddr(t, engine))
			runOutage(t, outagePlan{
				engine: engine,
				env:    []string{"WA_DB_HOSTNAME=127.0.0.1", "WA_DB_PORT=" + proxy.port()},
				phases: []outagePhase{
					{"cut", 3 * time.Second, proxy.cut},
					{"stall", outageStall, proxy.stall},
				},
				restore: proxy.restore,
			})
		})
	}
}

// TestDatabaseOutageRealStop stops the machine's PostgreSQL cluster itself
// (pg_ctlcluster ... stop, fast mode: sessions are ended) for
// WABIZ_TEST_PG_STOP (a Go duration, 30s in scripts/crash) under load, then
// starts it again, with the same checks as TestDatabaseOutage. It runs only
// when asked: the cluster is shared with every other test on the machine.
// WABIZ_TEST_PG_CLUSTER ("15/main") names the cluster; by default it is the
// online cluster on the port of WABIZ_TEST_POSTGRES_URL.
func TestDatabaseOutageRealStop(t *testing.T) {
	v := os.Getenv("WABIZ_TEST_PG_STOP")
	if v == "" {
		t.Skip("stops the machine's PostgreSQL: set WABIZ_TEST_PG_STOP=30s to run it (scripts/crash does)")
	}
	downFor, err := time.ParseDuration(v)
	if err != nil || downFor <= 0 {
		t.Fatalf("WABIZ_TEST_PG_STOP=%q: want a Go duration such as 30s", v)
	}
	// Not parallel: nothing else in this package may use PostgreSQL while
	// it is down.
	addr := dbServerAddr(t, store.Postgres)
	version, cluster := pgCluster(t, addr)
	ctl := func(action string) {
		t.Helper()
		out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, action).CombinedOutput()
		if err != nil {
			t.Fatalf("pg_ctlcluster %s %s %s: %v\n%s", version, cluster, action, err, out)
		}
	}
	stopped := false
	t.Cleanup(func() {
		if stopped {
			exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "start").Run()
		}
	})
	runOutage(t, outagePlan{
		engine: store.Postgres,
		phases: []outagePhase{{"PostgreSQL stopped", downFor, func() { ctl("stop"); stopped = true }}},
		restore: func() {
			ctl("start")
			stopped = false
		},
	})
}

// pgCluster finds the version and name of the online cluster on addr's port.
func pgCluster(t *testing.T, addr string) (version, name string) {
	t.Helper()
	if v := os.Getenv("WABIZ_TEST_PG_CLUSTER"); v != "" {
		version, name, ok := strings.Cut(v, "/")
		if !ok {
			t.Fatalf("WABIZ_TEST_PG_CLUSTER=%q: want <version>/<name>, for example 15/main", v)
		}
		return version, name
	}
	out, err := exec.Command("pg_lsclusters", "--no-header").Output()
	if err != nil {
		t.Fatalf("pg_lsclusters: %v (set WABIZ_TEST_PG_CLUSTER)", err)
	}
	_, port, _ := strings.Cut(addr, ":")
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[2] == port && f[3] == "online" {
			return f[0], f[1]
		}
	}
	t.Fatalf("no online PostgreSQL cluster on port %s in:\n%s", port, out)
	return "", ""
}

type outagePlan struct {
	engine  store.Dialect
	env     []string
	phases  []outagePhase // applied one after another while the load runs
	restore func()        // brings the database back
}

type outagePhase struct {
	name  string
	lasts time.Duration
	start func()
}

// outageAnswer is one request's outcome during the load.
type outageAnswer struct {
	kind    string // send, inbound, health
	phase   string // before, the outage phase's name, recovery, after
	status  int
	code    string // errors[0].code
	title   string // errors[0].title
	took    time.Duration
	netErr  string // no HTTP answer at all
	started time.Time
}

// outageLoad sends, injects and polls health until stopped, recording every
// answer and every acknowledged id.
type outageLoad struct {
	c         *client
	admin     string
	customers []string
	ledger    *crashLedger

	mu      sync.Mutex
	phase   string
	answers []outageAnswer
	pauses  []outagePause
	stop    chan struct{}
	wg      sync.WaitGroup
}

// outagePause is a stretch in which the test process itself did not run (a
// machine busy with other work): answers in flight then are not timed.
type outagePause struct{ from, to time.Time }

// testPauseGap is how late a 20 ms tick must be to count as a pause.
const testPauseGap = 400 * time.Millisecond

func (l *outageLoad) setPhase(p string) {
	l.mu.Lock()
	l.phase = p
	l.mu.Unlock()
}

func (l *outageLoad) do(kind, method, path string, body any) (map[string]any, bool) {
	l.mu.Lock()
	phase := l.phase
	l.mu.Unlock()
	started := time.Now()
	status, answer, err := l.c.tryDo(method, path, l.admin, body)
	a := outageAnswer{kind: kind, phase: phase, status: status, took: time.Since(started), started: started}
	if status == 0 && err != nil {
		a.netErr = err.Error()
	}
	if errs, _ := answer["errors"].([]any); len(errs) > 0 {
		first, _ := errs[0].(map[string]any)
		a.code, a.title = fmt.Sprint(first["code"]), fmt.Sprint(first["title"])
	}
	l.mu.Lock()
	l.answers = append(l.answers, a)
	l.mu.Unlock()
	return answer, err == nil
}

func (l *outageLoad) run() {
	l.stop = make(chan struct{})
	pause := func(d time.Duration) bool {
		select {
		case <-l.stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	for g := range outageSenders {
		l.wg.Go(func() {
			for i := g; pause(outageSendPause); i += outageSenders {
				to := l.customers[i%len(l.customers)]
				answer, ok := l.do("send", "POST", "/v1/messages",
					fmt.Sprintf(`{"to":"%s","type":"text","text":{"body":"Outage test, message %d"}}`, to, i))
				if id := firstMessageID(answer); ok && id != "" {
					l.ledger.accept(id, to)
				}
			}
		})
	}
	l.wg.Go(func() {
		for i := 0; pause(outageInjectPause); i++ {
			from := l.customers[(i*3)%len(l.customers)]
			answer, ok := l.do("inbound", "POST", "/sandbox/v1/users/"+from+"/messages",
				fmt.Sprintf(`{"type":"text","text":{"body":"Outage test, question %d"}}`, i))
			if id := firstMessageID(answer); ok && id != "" {
				l.ledger.received(id, from)
			}
		}
	})
	l.wg.Go(func() {
		for pause(250 * time.Millisecond) {
			l.do("health", "GET", "/v1/health", nil)
		}
	})
	l.wg.Go(func() {
		last := time.Now()
		for pause(20 * time.Millisecond) {
			now := time.Now()
			if now.Sub(last) > testPauseGap {
				l.mu.Lock()
				l.pauses = append(l.pauses, outagePause{last, now})
				l.mu.Unlock()
			}
			last = now
		}
	})
}

// paused reports whether the test process stalled while a was in flight.
func (l *outageLoad) paused(a outageAnswer) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	end := a.started.Add(a.took)
	for _, p := range l.pauses {
		if p.from.Before(end) && p.to.After(a.started) {
			return true
		}
	}
	return false
}

func (l *outageLoad) halt() {
	close(l.stop)
	l.wg.Wait()
}

func (l *outageLoad) snapshot() []outageAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.answers)
}

func runOutage(t *testing.T, plan outagePlan) {
	hook := newHookRecorder(t)
	in := newInstance(t, plan.engine, append([]string{
		"WABIZ_WEBHOOK_ALLOW_HTTP=true",
		"WABIZ_DB_TIMEOUT=" + outageDBTimeout.String(),
	}, plan.env...)...)
	st := stageCrash(t, in, hook, outageCustomers, 2000, 500, "Hello before the outage")
	c, admin, ledger, customers := st.c, st.admin, st.ledger, st.customers

	load := &outageLoad{c: c, admin: admin, customers: customers, ledger: ledger, phase: "before"}
	load.run()
	began := time.Now()
	defer func() {
		if load.stop != nil {
			select {
			case <-load.stop:
			default:
				load.halt()
			}
		}
	}()
	time.Sleep(time.Second) // under load before the database goes
	var downAt time.Time
	for i, ph := range plan.phases {
		load.setPhase(ph.name)
		ph.start()
		if i == 0 {
			downAt = time.Now()
		}
		in.waitUntil(ph.lasts, 50*time.Millisecond, func() bool { return false }) // fails if wabiz exits
	}
	load.setPhase("recovery")
	plan.restore()
	upAt := time.Now()
	// Recovered: a send accepted after the database came back.
	var recoveredAt time.Time
	if !in.waitUntil(outageRecovery, 50*time.Millisecond, func() bool {
		for _, a := range load.snapshot() {
			if a.kind == "send" && a.status == http.StatusCreated && a.started.After(upAt) {
				recoveredAt = a.started.Add(a.took)
				return true
			}
		}
		return false
	}) {
		load.halt()
		t.Fatalf("no send accepted within %s of the database's return; last answers: %s", outageRecovery, lastAnswers(load.snapshot(), 8))
	}
	load.setPhase("after")
	time.Sleep(time.Second) // and under load for a moment after
	load.halt()
	ended := time.Now()

	// What the API answered.
	answers := load.snapshot()
	type tally struct {
		n       int
		maxTook time.Duration
	}
	counts := map[string]*tally{} // "<phase> <kind> <status>/<code>"
	var problems []string
	untimed := 0
	for _, a := range answers {
		key := fmt.Sprintf("%s %s %d", a.phase, a.kind, a.status)
		if a.code != "" {
			key += "/" + a.code
		}
		if a.netErr != "" {
			key = fmt.Sprintf("%s %s no answer", a.phase, a.kind)
		}
		if counts[key] == nil {
			counts[key] = &tally{}
		}
		counts[key].n++
		counts[key].maxTook = max(counts[key].maxTook, a.took)
		timed := !load.paused(a)
		if !timed {
			untimed++
		}
		if p := judgeOutageAnswer(a, timed); p != "" && len(problems) < 10 {
			problems = append(problems, p)
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var summary strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&summary, "\n  %-40s ×%-5d slowest %s", k, counts[k].n, counts[k].maxTook.Round(time.Millisecond))
	}
	t.Logf("answers by phase, kind and status/code (%d not timed: the test process itself stalled meanwhile):%s", untimed, summary.String())
	if len(problems) > 0 {
		t.Errorf("answers outside the documented behaviour:\n  %s", strings.Join(problems, "\n  "))
	}
	sawDBError := false
	for _, a := range answers {
		if a.kind == "send" && a.phase != "before" && a.phase != "recovery" && a.phase != "after" && a.code == "1023" {
			sawDBError = true
		}
	}
	if !sawDBError {
		t.Errorf("no send was answered 500/1023 while the database was away")
	}

	// Nothing acknowledged is lost.
	settleStart := time.Now()
	stray := settleOutage(t, in, c, admin, hook, ledger, answers)
	final := hook.snapshot()
	dupS, dupM := final.duplicates()
	accepted := 0
	for _, a := range answers {
		if a.kind == "send" && a.status == http.StatusCreated {
			accepted++
		}
	}
	t.Logf("%s: load for %s, database away %s; first send accepted %s after it returned; %d sends accepted, %d messages and %d inbound owed in all, all delivered %s after the load ended; %d messages sent whose send was answered with an error; duplicate callbacks: %d statuses, %d messages",
		plan.engine, ended.Sub(began).Round(time.Millisecond), upAt.Sub(downAt).Round(time.Millisecond),
		recoveredAt.Sub(upAt).Round(time.Millisecond), accepted, len(ledger.outbound), len(ledger.inbound),
		time.Since(settleStart).Round(time.Millisecond), stray, dupS, dupM)
	in.stop()
}

// judgeOutageAnswer says what is wrong with one answer, or "". The time
// bound applies when timed.
func judgeOutageAnswer(a outageAnswer, timed bool) string {
	what := fmt.Sprintf("%s %s (phase %q, after %s)", a.kind, a.started.Format("15:04:05.000"), a.phase, a.took.Round(time.Millisecond))
	if a.netErr != "" {
		return what + ": no HTTP answer: " + a.netErr
	}
	bound := outageAnswerBound
	if !strictTiming() {
		bound *= 3 // a busy machine may be slow; a hang (minutes) is still caught
	}
	if timed && a.took > bound {
		return fmt.Sprintf("%s: answered %d only after %s (bound %s)", what, a.status, a.took.Round(time.Millisecond), bound)
	}
	switch {
	case a.status < 300:
		return ""
	case a.status != http.StatusInternalServerError:
		return fmt.Sprintf("%s: status %d/%s, want 500", what, a.status, a.code)
	case a.kind == "send" && (a.code != "1023" || a.title != "Database error occurred"):
		return fmt.Sprintf("%s: 500 with %s %q, want 1023 \"Database error occurred\"", what, a.code, a.title)
	case a.kind != "send" && a.code != "1023" && a.code != "1014":
		return fmt.Sprintf("%s: 500 with %s %q, want 1023 or 1014", what, a.code, a.title)
	}
	return ""
}

func lastAnswers(answers []outageAnswer, n int) string {
	var b strings.Builder
	for _, a := range answers[max(0, len(answers)-n):] {
		fmt.Fprintf(&b, "\n  %s %s: %d/%s %s", a.kind, a.started.Format("15:04:05.000"), a.status, a.code, a.netErr)
	}
	return b.String()
}

// settleOutage waits until every acknowledged message has its final status
// and every acknowledged inbound message arrived. Messages whose send was
// answered with an error may exist all the same (a commit whose answer the
// outage swallowed); their statuses are counted, not owed.
func settleOutage(t *testing.T, in *instance, c *client, admin string, hook *hookRecorder, ledger *crashLedger, answers []outageAnswer) (stray int) {
	t.Helper()
	failedSends, failedInbound := 0, 0
	for _, a := range answers {
		if a.status != http.StatusCreated {
			switch a.kind {
			case "send":
				failedSends++
			case "inbound":
				failedInbound++
			}
		}
	}
	ledger.mu.Lock()
	ledger.cutSends, ledger.cutInbound = failedSends, failedInbound
	ledger.mu.Unlock()
	return settleWithin(t, in, c, admin, hook, ledger, "after the outage", outageSettle)
}
