package console_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/server"
)

// The browser test drives a real headless Chromium through a real node
// (server.Build and Start, as wabiz serve runs it) on 127.0.0.1, with a
// webhook receiver beside it: the whole path a developer takes in the
// console. With WABIZ_CONSOLE_SCREENSHOTS=dir it leaves a screenshot of
// each step there (docs/console.md shows them).

const chromiumPath = "/usr/bin/chromium"

const customer = "15551234567"

// receiver records the webhook's bodies.
type receiver struct {
	mu     sync.Mutex
	bodies []string
	signal chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, string(b))
	close(rc.signal)
	rc.signal = make(chan struct{})
	rc.mu.Unlock()
}

// waitFor waits until a body contains every one of parts.
func (rc *receiver) waitFor(t *testing.T, ctx context.Context, parts ...string) string {
	t.Helper()
	for {
		rc.mu.Lock()
		for _, b := range rc.bodies {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(b, p)
			}
			if all {
				rc.mu.Unlock()
				return b
			}
		}
		sig := rc.signal
		rc.mu.Unlock()
		select {
		case <-sig:
		case <-ctx.Done():
			t.Fatalf("the webhook never received a body with %q", parts)
		}
	}
}

// api calls the node's API as an integration would.
type apiClient struct {
	t     *testing.T
	base  string
	http  *http.Client
	token string
}

func (a *apiClient) do(method, path string, body any, out any) int {
	a.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ct = bytes.NewReader(b), "image/png"
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", ct)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		json.Unmarshal(raw, out)
	}
	if resp.StatusCode >= 300 {
		a.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// send posts /v1/messages until the engine has started (1011 meanwhile).
func (a *apiClient) send(ctx context.Context, msg map[string]any) string {
	a.t.Helper()
	msg["to"] = customer
	for {
		var out struct {
			Messages []struct{ ID string } `json:"messages"`
		}
		if code := a.do("POST", "/v1/messages", msg, &out); code == http.StatusCreated && len(out.Messages) == 1 {
			return out.Messages[0].ID
		}
		select {
		case <-ctx.Done():
			a.t.Fatalf("send %v never accepted", msg)
		case <-time.After(100 * time.Millisecond): // the engine's start-up, not a clock
		}
	}
}

func testImage(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 100))
	for x := range 160 {
		for y := range 100 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(120 + y), 105, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("WABIZ_TEST_BROWSER") == "1" {
			t.Fatalf("WABIZ_TEST_BROWSER=1 but %s is missing: apt-get install chromium", chromiumPath)
		}
		t.Skipf("no %s: the browser test skips (apt-get install chromium; WABIZ_TEST_BROWSER=1 makes this a failure)", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	hook := &receiver{signal: make(chan struct{})}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()

	env := map[string]string{
		"WABIZ_DATA_DIR": t.TempDir(), "WABIZ_NODE_ID": "console-test", "WA_WEB_JWT_CRYPTO_KEY": strings.Repeat("c", 32),
		"WABIZ_BCRYPT_COST": "4", "WABIZ_WEBHOOK_ALLOW_HTTP": "true", "WABIZ_LISTEN": "127.0.0.1:0",
	}
	c, err := config.Load(flag.NewFlagSet("console", flag.ContinueOnError), nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	node, err := server.Build(ctx, c, server.Options{Log: slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer func() { stop(); node.Close() }()
	if err := node.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("server log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	srv := httptest.NewUnstartedServer(node.HTTP)
	srv.StartTLS()
	defer srv.Close()
	api := &apiClient{t: t, base: srv.URL, http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}

	// The browser.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 820),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("ignore-certificate-errors", true), chromedp.Flag("no-default-browser-check", true),
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	var pageErrs []string
	var errMu sync.Mutex
	if err := chromedp.Listen(bctx, func(ev any) {
		errMu.Lock()
		defer errMu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			pageErrs = append(pageErrs, "exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value))
				}
				pageErrs = append(pageErrs, "console.error: "+strings.Join(parts, " "))
			}
		}
	}); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	shots := os.Getenv("WABIZ_CONSOLE_SCREENSHOTS")
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			html, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("%s: %v\npage: %s", name, err, html)
		}
		errMu.Lock()
		if len(pageErrs) > 0 {
			t.Fatalf("%s: the page broke: %s", name, strings.Join(pageErrs, "; "))
		}
		errMu.Unlock()
		if shots != "" {
			buf, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	const newPassword = "Console#Pass1"
	u := srv.URL + "/console"

	// 1. Log in: the factory password must be changed first.
	step("01-login",
		chromedp.Navigate(u+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "secret"),
	)
	step("02-password-change",
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=new_password]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "secret"),
		chromedp.SendKeys(chromedp.CSS(`input[name=new_password]`), newPassword),
	)
	step("03-customers",
		chromedp.Submit(chromedp.CSS(`input[name=new_password]`)),
		chromedp.WaitVisible(chromedp.CSS(`#create-customer`)),
	)

	// The integration's side: a token, a registered number, a webhook.
	var login struct {
		Users []struct{ Token string } `json:"users"`
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/users/login", nil)
	req.SetBasicAuth("admin", newPassword)
	resp, err := api.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if len(login.Users) != 1 {
		t.Fatalf("API login with the password set in the console: %d", resp.StatusCode)
	}
	api.token = login.Users[0].Token
	var cert struct{ Certificate string }
	api.do("POST", "/sandbox/v1/certificates", map[string]string{"cc": "1", "phone_number": "5550100", "vname": "Acme"}, &cert)
	api.do("POST", "/v1/account", map[string]string{"cc": "1", "phone_number": "5550100", "method": "sms", "cert": cert.Certificate}, nil)
	var code struct{ Code string }
	api.do("GET", "/sandbox/v1/account/code", nil, &code)
	if st := api.do("POST", "/v1/account/verify", map[string]string{"code": code.Code}, nil); st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("verify: %d", st)
	}
	if st := api.do("PATCH", "/v1/settings/application", map[string]any{"sent_status": true, "webhooks": map[string]string{"url": hookSrv.URL + "/hook"}}, nil); st != http.StatusOK {
		t.Fatalf("settings: %d", st)
	}

	// 2. Create a customer and write in.
	step("04-chat",
		chromedp.SendKeys(chromedp.CSS(`#create-customer input[name=wa_id]`), customer),
		chromedp.SendKeys(chromedp.CSS(`#create-customer input[name=display_name]`), "Ada"),
		chromedp.Submit(chromedp.CSS(`#create-customer input[name=wa_id]`)),
		chromedp.WaitVisible(chromedp.CSS(`#send-text textarea`)),
		chromedp.SendKeys(chromedp.CSS(`#send-text textarea`), "Hello from *Ada* <script>alert(1)</script>"),
		chromedp.Click(chromedp.CSS(`#send-text button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.bubble.mine strong`)),
	)
	hook.waitFor(t, ctx, `"messages"`, "Hello from *Ada*")
	scripts := value(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll("#bubbles script").length`))
	step("05-webhook-log",
		chromedp.Navigate(u+"/webhooks"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-kind=messages]`)),
	)
	if scripts != 0 {
		t.Fatal("a message's <script> became markup")
	}

	// 3. Reply from the API: rendered, ticks moving to read (the world's
	// customers read a second after delivery).
	textID := api.send(ctx, map[string]any{"type": "text", "preview_url": true, "text": map[string]string{"body": "Hi _Ada_, see https://example.org/order"}})
	sel := func(id, rest string) string { return `#m-` + cssEscape(id) + rest }
	step("06-reply-read",
		chromedp.Navigate(u+"/customers/"+customer),
		chromedp.WaitVisible(chromedp.CSS(sel(textID, ` em`))),
		chromedp.WaitVisible(chromedp.CSS(sel(textID, ` .preview`))),
		chromedp.WaitVisible(chromedp.CSS(sel(textID, `[data-status=read] .ticks`))),
	)
	hook.waitFor(t, ctx, textID, `"read"`)

	// 4. An interactive list: the customer taps a row, the webhook gets
	// the list_reply.
	listID := api.send(ctx, map[string]any{"type": "interactive", "interactive": map[string]any{
		"type": "list", "body": map[string]string{"text": "Pick a slot"},
		"action": map[string]any{"button": "Slots", "sections": []any{map[string]any{"title": "Tomorrow", "rows": []any{
			map[string]string{"id": "slot-9", "title": "9:00", "description": "morning"},
			map[string]string{"id": "slot-14", "title": "14:00", "description": "afternoon"},
		}}}}}})
	step("07-list",
		chromedp.WaitVisible(chromedp.CSS(sel(listID, ` details.list summary`))),
		chromedp.Click(chromedp.CSS(sel(listID, ` details.list summary`))),
		chromedp.WaitVisible(chromedp.CSS(sel(listID, ` button[data-row=slot-14]`))),
	)
	step("08-list-reply",
		chromedp.Click(chromedp.CSS(sel(listID, ` button[data-row=slot-14]`))),
		chromedp.WaitVisible(chromedp.CSS(`.bubble.mine .reply`)),
	)
	hook.waitFor(t, ctx, `"list_reply"`, `"slot-14"`, listID)

	// 5. An image both ways.
	pngData := testImage(t)
	var up struct {
		Media []struct{ ID string } `json:"media"`
	}
	if api.do("POST", "/v1/media", pngData, &up); len(up.Media) != 1 {
		t.Fatal("media upload failed")
	}
	imgID := api.send(ctx, map[string]any{"type": "image", "image": map[string]string{"id": up.Media[0].ID, "caption": "Your *receipt*"}})
	step("09-image-in",
		chromedp.WaitVisible(chromedp.CSS(sel(imgID, ` img.media`))),
	)
	width := value(t, bctx, chromedp.Poll[int](`document.querySelector("#m-`+imgID+` img.media").naturalWidth`, chromedp.WithPollingTimeout(10*time.Second)))
	if width != 160 {
		t.Fatalf("the business's image drew %d px wide", width)
	}
	file := filepath.Join(t.TempDir(), "photo.png")
	os.WriteFile(file, pngData, 0o600)
	step("10-image-out",
		chromedp.Click(chromedp.CSS(`.composer details summary`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#send-file input[type=file]`), []string{file}),
		chromedp.SendKeys(chromedp.CSS(`#send-file input[name=caption]`), "my photo"),
		chromedp.Click(chromedp.CSS(`#send-file button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.bubble.mine img.media`)),
	)
	width = value(t, bctx, chromedp.Poll[int](`document.querySelector(".bubble.mine img.media").naturalWidth`, chromedp.WithPollingTimeout(10*time.Second)))
	if width != 160 {
		t.Fatalf("the customer's image drew %d px wide", width)
	}
	hook.waitFor(t, ctx, `"image"`, "my photo")

	// 6. A template made in the console, sent through the API.
	step("11-template",
		chromedp.Navigate(u+"/templates"),
		chromedp.WaitVisible(chromedp.CSS(`#template-preview .text`)),
		chromedp.Click(chromedp.CSS(`#template-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-template=order_ready]`)),
	)
	var catalogue struct{ Namespace string }
	api.do("GET", "/sandbox/v1/templates", nil, &catalogue)
	tplID := api.send(ctx, map[string]any{"type": "template", "template": map[string]any{
		"namespace": catalogue.Namespace, "name": "order_ready", "language": map[string]string{"policy": "deterministic", "code": "en"},
		"components": []any{map[string]any{"type": "body", "parameters": []any{
			map[string]string{"type": "text", "text": "Ada"}, map[string]string{"type": "text", "text": "A-42"}}}}}})
	step("12-template-chat",
		chromedp.Navigate(u+"/customers/"+customer),
		chromedp.WaitVisible(chromedp.CSS(sel(tplID, ` .interactive[data-kind=template] strong`))),
	)
	// Read afresh on each poll: a live update may swap the chat meanwhile.
	shown := value(t, bctx, chromedp.Poll[string](`(() => { const e = document.querySelector(`+strconv.Quote(sel(tplID, ` .interactive`))+
		`); return e && e.innerText.includes("A-42") ? e.innerText : ""; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	step("13-timeline",
		chromedp.Navigate(u+"/messages/"+textID),
		chromedp.WaitVisible(chromedp.CSS(`.timeline li`)),
	)
	if !strings.Contains(shown, "A-42") || !strings.Contains(shown, "Acme shop") || !strings.Contains(shown, "Thanks") {
		t.Fatalf("the template showed %q", shown)
	}
	timeline := value(t, bctx, chromedp.Text(chromedp.CSS(`.timeline`)))
	for _, s := range []string{"accepted", "sent", "delivered", "read"} {
		if !strings.Contains(timeline, s) {
			t.Fatalf("the timeline lacks %s: %q", s, timeline)
		}
	}
	step("14-settings",
		chromedp.Navigate(u+"/settings"),
		chromedp.WaitVisible(chromedp.CSS(`#gateway-status`)),
	)
}

// value runs an action that reads something from the page.
func value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func cssEscape(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\%x `, r)
		}
	}
	return b.String()
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
