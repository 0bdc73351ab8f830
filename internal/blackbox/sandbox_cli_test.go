package blackbox

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	wabiz "github.com/wabiz/wabiz/internal/client"
	"github.com/wabiz/wabiz/internal/store"
)

const (
	sandboxCustomer = "15550001111"
	// sandboxWait bounds every wait for the server; the default sandbox
	// world delivers in 0.1 s and reads a second later.
	sandboxWait = 10 * time.Second
	sandboxPoll = 50 * time.Millisecond
)

// TestSandboxCLIHelp: the command explains itself without a server, and
// says how to keep the password off the command line.
func TestSandboxCLIHelp(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCommand(t, baseEnv(), "", "sandbox", "-h")
	if code != 0 {
		t.Fatalf("sandbox -h: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"register", "cert", "code", "verify", "send", "users", "user WA_ID", "messages",
		"read", "change-number", "world", "--password-file", "WABIZ_PASSWORD", "-insecure", "-cacert"} {
		if !strings.Contains(out, want) {
			t.Errorf("sandbox -h does not mention %q:\n%s", want, out)
		}
	}
	code, out, _ = runCommand(t, baseEnv(), "", "sandbox", "user", "-h")
	if code != 0 || !strings.Contains(out, "-auto-read-ms") {
		t.Errorf("sandbox user -h: exit %d\n%s", code, out)
	}
	code, _, errOut = runCommand(t, baseEnv(), "", "sandbox", "no-such-command")
	if code == 0 || !strings.Contains(errOut, `unknown command "no-such-command"`) {
		t.Errorf("unknown sandbox command: exit %d\n%s", code, errOut)
	}
}

// TestSandboxCLI drives a conversation from the command line the way a
// developer would: register the number in one go, a simulated customer
// writes, the business answers through the API, and the customer's phone
// shows the answer read; offline, an answer waits as "sent" until the phone
// comes back.
func TestSandboxCLI(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine store.Dialect) {
		ctx := t.Context()
		hook := newHookRecorder(t)
		in := newInstance(t, engine, "WABIZ_WEBHOOK_ALLOW_HTTP=true")
		in.start()
		api := wabiz.New("https://"+in.addr, wabiz.WithCACertFile(filepath.Join(in.dataDir, "tls", "ca.pem")))

		// The factory password must be changed at the first login.
		_, _, err := api.Login(ctx, "admin", "secret", "")
		var apiErr *wabiz.Error
		if !errors.As(err, &apiErr) || apiErr.Status != 401 || !apiErr.Has(1024) {
			t.Fatalf("first login without a new password: %v, want HTTP 401 with 1024", err)
		}
		token, _, err := api.Login(ctx, "admin", "secret", adminPass)
		if err != nil {
			t.Fatal(err)
		}

		// Three ways to authenticate the command, none with the password
		// in its arguments. The CA comes from WABIZ_DATA_DIR (in.env).
		server := "WABIZ_URL=https://" + in.addr
		byPassword := in.env(server, "WABIZ_PASSWORD="+adminPass)
		byToken := in.env(server, "WABIZ_TOKEN="+token)
		passwordFile := filepath.Join(t.TempDir(), "password")
		if err := os.WriteFile(passwordFile, []byte(adminPass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cli := func(env []string, args ...string) string {
			t.Helper()
			code, out, errOut := runCommand(t, env, "", append([]string{"sandbox"}, args...)...)
			if code != 0 {
				t.Fatalf("wabiz sandbox %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
			}
			return out
		}

		out := cli(byPassword, "register", "--cc", "1", "--phone", "5550100", "--vname", "Acme")
		for _, step := range []string{"1/4 certificate issued", "2/4 code requested by sms", "3/4 code", "4/4 +1 5550100 registered"} {
			if !strings.Contains(out, step) {
				t.Errorf("register output lacks %q:\n%s", step, out)
			}
		}
		var status string
		if !in.waitUntil(sandboxWait, sandboxPoll, func() bool {
			h, err := api.Health(ctx)
			status = h.GatewayStatus
			return err == nil && status == "connected"
		}) {
			t.Fatalf("gateway %q after register, want connected", status)
		}
		// Again: the number is registered here already, nothing to do.
		if out := cli(byToken, "register", "--cc", "1", "--phone", "5550100", "--vname", "Acme"); !strings.Contains(out, "already registered") {
			t.Errorf("second register:\n%s", out)
		}

		if err := api.SetSettings(ctx, map[string]any{"webhooks": map[string]any{"url": hook.url()}, "sent_status": true}); err != nil {
			t.Fatal(err)
		}

		// The customer writes; the webhook gets it.
		inboundID := strings.TrimSpace(cli(in.env(server), "send", "--password-file", passwordFile, sandboxCustomer, "hi", "there"))
		if !regexp.MustCompile(`^AB[A-Za-z0-9_-]+$`).MatchString(inboundID) {
			t.Fatalf("send printed %q, want an AB... message id", inboundID)
		}
		if !in.waitUntil(sandboxWait, sandboxPoll, func() bool { return hook.snapshot().inbound[inboundID] > 0 }) {
			t.Fatalf("the webhook never got inbound message %s", inboundID)
		}

		// The business answers; the customer's phone shows it read (the
		// default world reads a second after delivery).
		reply, err := api.SendText(ctx, sandboxCustomer, "hello back")
		if err != nil {
			t.Fatal(err)
		}
		waitPhoneStatus(t, in, cli, byToken, reply, "read")
		if err := api.MarkRead(ctx, inboundID); err != nil {
			t.Fatal(err)
		}
		phone := cli(byToken, "messages", sandboxCustomer)
		if got := phoneLine(phone, inboundID); len(got) < 2 || got[1] != "read" || !strings.Contains(strings.Join(got, " "), "hi there") {
			t.Errorf("after MarkRead the phone shows %v for %s, want read and the text:\n%s", got, inboundID, phone)
		}
		if got := phoneLine(phone, reply); !strings.Contains(strings.Join(got, " "), "hello back") {
			t.Errorf("the phone shows %v for the reply, want its text:\n%s", got, phone)
		}

		// Offline, an answer is handed to the network (the webhook says
		// sent) but stays "sent" on the phone.
		if out := cli(byToken, "user", sandboxCustomer, "--online=false"); !regexp.MustCompile(`(?m)^online:\s+no$`).MatchString(out) {
			t.Fatalf("user --online=false answered:\n%s", out)
		}
		waiting, err := api.SendText(ctx, sandboxCustomer, "are you there?")
		if err != nil {
			t.Fatal(err)
		}
		if !in.waitUntil(sandboxWait, sandboxPoll, func() bool { return hook.snapshot().statuses[waiting]["sent"] > 0 }) {
			t.Fatalf("no sent status for %s on the webhook (got %s)", waiting, hook.snapshot().seen(waiting))
		}
		// Several looks spanning well over the world's 0.1 s delivery delay.
		for range 4 {
			if got := phoneLine(cli(byToken, "messages", sandboxCustomer), waiting); len(got) < 2 || got[1] != "sent" {
				t.Fatalf("an offline user's phone shows %v for %s, want sent", got, waiting)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st := hook.snapshot().statuses[waiting]; st["delivered"] > 0 || st["read"] > 0 {
			t.Fatalf("%s reached an offline user: %s", waiting, hook.snapshot().seen(waiting))
		}

		// Back online, the phone gets it.
		cli(byToken, "user", sandboxCustomer, "--online=true")
		if !in.waitUntil(sandboxWait, sandboxPoll, func() bool { return hook.snapshot().statuses[waiting]["delivered"] > 0 }) {
			t.Fatalf("no delivered status for %s after the user came online (got %s)", waiting, hook.snapshot().seen(waiting))
		}
		waitPhoneStatus(t, in, cli, byToken, waiting, "delivered", "read")

		// --json gives the server's own answer.
		var users struct {
			Users []wabiz.SandboxUser `json:"users"`
		}
		if err := json.Unmarshal([]byte(cli(byToken, "users", "--json")), &users); err != nil || len(users.Users) == 0 || users.Users[0].WaID != sandboxCustomer {
			t.Errorf("users --json: %+v, %v", users, err)
		}

		// Refusals are the server's error text, and a non-zero exit.
		code, _, errOut := runCommand(t, byToken, "", "sandbox", "read", sandboxCustomer, "gBnot-a-message")
		if code == 0 || !strings.Contains(errOut, "HTTP 404: 1006 Resource not found") {
			t.Errorf("read of an unknown message: exit %d\n%s", code, errOut)
		}
		code, _, errOut = runCommand(t, in.env(server, "WABIZ_PASSWORD=Wrong#Pass1"), "", "sandbox", "users")
		if code == 0 || !strings.Contains(errOut, "HTTP 401: 1005") {
			t.Errorf("a wrong password: exit %d\n%s", code, errOut)
		}
		in.stop()
	})
}

// phoneLine returns the fields of the line of "sandbox messages" output
// about message id: id, status, date, time, text...
func phoneLine(out, id string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == id {
			return f
		}
	}
	return nil
}

// waitPhoneStatus polls "sandbox messages" until the customer's phone
// shows message id with one of the statuses.
func waitPhoneStatus(t *testing.T, in *instance, cli func([]string, ...string) string, env []string, id string, statuses ...string) {
	t.Helper()
	var last []string
	ok := in.waitUntil(sandboxWait, sandboxPoll, func() bool {
		last = phoneLine(cli(env, "messages", sandboxCustomer), id)
		for _, s := range statuses {
			if len(last) > 1 && last[1] == s {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("the phone shows %v for %s after %s, want status %v", last, id, sandboxWait, statuses)
	}
}
