package settings_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/settings"
)

// patchCase is one PATCH rule: a body applied to a starting Application and
// either the exact resulting Application or the exact error details.
type patchCase struct {
	name  string
	body  string
	rules settings.PatchRules
	// from builds the starting value; nil means Defaults().
	from func() settings.Application
	// want edits a copy of the starting value into the expected result. Nil
	// with errs empty means "accepted, nothing changes".
	want func(a *settings.Application)
	// errs are the expected 1009 detail texts, in order. Non-empty means the
	// PATCH must fail and change nothing.
	errs []string
}

func invalid(name, value string) string {
	return fmt.Sprintf("Parameter '%s' has invalid value '%s'", name, value)
}

const noValid = "No valid parameters provided"

func decodeBody(t testing.TB, body string) map[string]json.RawMessage {
	t.Helper()
	if body == "" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("test body %s does not decode: %v", body, err)
	}
	return m
}

func runPatchCases(t *testing.T, cases []patchCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			from := settings.Defaults
			if tc.from != nil {
				from = tc.from
			}
			start := from()
			pristine := from()
			got, err := settings.Patch(start, decodeBody(t, tc.body), tc.rules)
			if !reflect.DeepEqual(start, pristine) {
				t.Fatalf("Patch modified its input:\n got %+v\nwant %+v", start, pristine)
			}
			if len(tc.errs) > 0 {
				checkAPIErr(t, err, tc.errs...)
				if !reflect.DeepEqual(got, pristine) {
					t.Fatalf("failed PATCH changed the settings:\n got %+v\nwant %+v", got, pristine)
				}
				return
			}
			if err != nil {
				t.Fatalf("Patch(%s) = %v, want success", tc.body, err)
			}
			want := from()
			if tc.want != nil {
				tc.want(&want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Patch(%s):\n got %+v\nwant %+v", tc.body, got, want)
			}
		})
	}
}

// checkAPIErr asserts err is a 400 carrying exactly the given 1009 details.
func checkAPIErr(t testing.TB, err *apierr.Error, details ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Patch succeeded, want errors %q", details)
	}
	if err.Status != http.StatusBadRequest {
		t.Errorf("HTTP status = %d, want 400", err.Status)
	}
	if err.Code() != 1009 {
		t.Errorf("Code() = %d, want 1009", err.Code())
	}
	var got []string
	for _, d := range err.Details {
		if d.Code != 1009 || d.Title != "Parameter value is not valid" {
			t.Errorf("detail %+v: want code 1009 titled %q", d, "Parameter value is not valid")
		}
		got = append(got, d.Details)
	}
	if !reflect.DeepEqual(got, details) {
		t.Fatalf("error details:\n got %q\nwant %q", got, details)
	}
}

// nest builds a body setting the dotted name to the raw JSON value.
func nest(name, value string) string {
	parts := strings.Split(name, ".")
	body := value
	for i := len(parts) - 1; i >= 0; i-- {
		body = fmt.Sprintf("{%q:%s}", parts[i], body)
	}
	return body
}

// custom is a starting point where no field has its default, so a test can
// see which fields a PATCH leaves alone.
func custom() settings.Application {
	return settings.Application{
		CallbackBackoffDelayMs:         1234,
		CallbackPersist:                false,
		DBGarbageCollectorEnable:       false,
		GarbageCollectorEnable:         settings.GarbageCollector{Messages: false, Media: true},
		HeartbeatInterval:              7,
		MaxCallbackBackoffDelayMs:      45678,
		Media:                          settings.Media{AutoDownload: []string{"audio", "image"}},
		NotifyUserChangeNumber:         false,
		PassThrough:                    true,
		SentStatus:                     true,
		ShowSecurityNotifications:      true,
		SkipReferralMediaDownload:      true,
		UnhealthyInterval:              90,
		WaID:                           "15550009999",
		Webhooks:                       settings.Webhooks{URL: "https://old.example.org/hook", MaxConcurrentRequests: 18, Message: settings.WebhookMessage{Sent: true, Delivered: false, Read: false}},
		AxolotlContextStripingDisabled: true,
		ConversationPricingDisabled:    true,
		OnCallPager:                    "pager-group",
		VerboseLogging:                 true,
		LogLevel:                       "warn",
	}
}

// boolFields maps every boolean setting (dotted where nested) to its setter.
var boolFields = []struct {
	name string
	set  func(a *settings.Application, v bool)
}{
	{"callback_persist", func(a *settings.Application, v bool) { a.CallbackPersist = v }},
	{"db_garbagecollector_enable", func(a *settings.Application, v bool) {
		a.DBGarbageCollectorEnable, a.GarbageCollectorEnable.Messages = v, v
	}},
	{"garbagecollector_enable.messages", func(a *settings.Application, v bool) {
		a.DBGarbageCollectorEnable, a.GarbageCollectorEnable.Messages = v, v
	}},
	{"garbagecollector_enable.media", func(a *settings.Application, v bool) { a.GarbageCollectorEnable.Media = v }},
	{"notify_user_change_number", func(a *settings.Application, v bool) { a.NotifyUserChangeNumber = v }},
	{"pass_through", func(a *settings.Application, v bool) { a.PassThrough = v }},
	{"sent_status", func(a *settings.Application, v bool) { a.SentStatus = v }},
	{"show_security_notifications", func(a *settings.Application, v bool) { a.ShowSecurityNotifications = v }},
	{"skip_referral_media_download", func(a *settings.Application, v bool) { a.SkipReferralMediaDownload = v }},
	{"webhooks.message.sent", func(a *settings.Application, v bool) { a.Webhooks.Message.Sent = v }},
	{"webhooks.message.delivered", func(a *settings.Application, v bool) { a.Webhooks.Message.Delivered = v }},
	{"webhooks.message.read", func(a *settings.Application, v bool) { a.Webhooks.Message.Read = v }},
	{"axolotl_context_striping_disabled", func(a *settings.Application, v bool) { a.AxolotlContextStripingDisabled = v }},
	{"webhook_payload_conversation_pricingmodel_disabled", func(a *settings.Application, v bool) { a.ConversationPricingDisabled = v }},
	{"verbose_logging", func(a *settings.Application, v bool) { a.VerboseLogging = v }},
}

func TestPatchBoolFields(t *testing.T) {
	var cases []patchCase
	for _, f := range boolFields {
		for _, v := range []bool{true, false} {
			// Start from the opposite value so the change is visible.
			cases = append(cases, patchCase{
				name: fmt.Sprintf("%s=%v", f.name, v),
				body: nest(f.name, fmt.Sprint(v)),
				from: func() settings.Application { a := settings.Defaults(); f.set(&a, !v); return a },
				want: func(a *settings.Application) { f.set(a, v) },
			})
		}
		for _, bad := range []struct{ raw, shown string }{
			{`"true"`, "true"},
			{`"false"`, "false"},
			{`1`, "1"},
			{`0`, "0"},
			{`null`, "null"},
			{`"yes"`, "yes"},
			{`[]`, "[]"},
			{`{}`, "{}"},
			{`[true]`, "[true]"},
		} {
			cases = append(cases, patchCase{
				name: fmt.Sprintf("%s=%s rejected", f.name, bad.raw),
				body: nest(f.name, bad.raw),
				errs: []string{invalid(f.name, bad.shown)},
			})
		}
	}
	runPatchCases(t, cases)
}

// numericFields maps every integer setting to its setter and accepted range.
var numericFields = []struct {
	name     string
	min, max int64
	set      func(a *settings.Application, v int64)
}{
	{"callback_backoff_delay_ms", 1, 86_400_000, func(a *settings.Application, v int64) { a.CallbackBackoffDelayMs = v }},
	{"max_callback_backoff_delay_ms", 1, 86_400_000, func(a *settings.Application, v int64) { a.MaxCallbackBackoffDelayMs = v }},
	{"heartbeat_interval", 1, 3600, func(a *settings.Application, v int64) { a.HeartbeatInterval = v }},
	{"unhealthy_interval", 1, 86_400, func(a *settings.Application, v int64) { a.UnhealthyInterval = v }},
}

func TestPatchNumericFields(t *testing.T) {
	var cases []patchCase
	for _, f := range numericFields {
		for _, ok := range []struct {
			raw string
			v   int64
		}{
			{`3000`, 3000},
			{`"3000"`, 3000},
			{`" 3000 "`, 3000},
			{`3000.0`, 3000},
			{`"3000.0"`, 3000},
			{`"+3000"`, 3000},
			{`"03000"`, 3000},
			{fmt.Sprint(f.min), f.min},
			{fmt.Sprint(f.max), f.max},
			{fmt.Sprintf("%q", fmt.Sprint(f.max)), f.max},
		} {
			cases = append(cases, patchCase{
				name: fmt.Sprintf("%s=%s", f.name, ok.raw),
				body: nest(f.name, ok.raw),
				from: custom,
				want: func(a *settings.Application) { f.set(a, ok.v) },
			})
		}
		for _, bad := range []struct{ raw, shown string }{
			{`3000.5`, "3000.5"},
			{`"3000.5"`, "3000.5"},
			{`"abc"`, "abc"},
			{`""`, ""},
			{`-1`, "-1"},
			{`"-1"`, "-1"},
			{`0`, "0"},
			{`-0.0`, "-0.0"},
			{fmt.Sprint(f.max + 1), fmt.Sprint(f.max + 1)},
			{`99999999999999999999`, "99999999999999999999"},
			{`1e3`, "1e3"}, // exponent notation is not an integer as written
			{`"Inf"`, "Inf"},
			{`"NaN"`, "NaN"},
			{`"0x1p4"`, "0x1p4"}, // Go hex-float syntax is not a decimal number
			{`"1_000"`, "1_000"}, // nor are Go digit separators
			{`true`, "true"},
			{`false`, "false"},
			{`null`, "null"},
			{`[3000]`, "[3000]"},
			{`{"v":3000}`, `{"v":3000}`},
		} {
			cases = append(cases, patchCase{
				name: fmt.Sprintf("%s=%s rejected", f.name, bad.raw),
				body: nest(f.name, bad.raw),
				errs: []string{invalid(f.name, bad.shown)},
			})
		}
	}
	runPatchCases(t, cases)
}

func TestPatchMaxConcurrentRequests(t *testing.T) {
	const name = "webhooks.max_concurrent_requests"
	set := func(v int) func(a *settings.Application) {
		return func(a *settings.Application) { a.Webhooks.MaxConcurrentRequests = v }
	}
	var cases []patchCase
	for _, v := range settings.AllowedConcurrency {
		cases = append(cases, patchCase{name: fmt.Sprint(v), body: nest(name, fmt.Sprint(v)), from: custom, want: set(v)})
	}
	cases = append(cases,
		patchCase{name: `"12" string`, body: nest(name, `"12"`), want: set(12)},
		patchCase{name: `12.0`, body: nest(name, `12.0`), want: set(12)},
	)
	for _, bad := range []struct{ raw, shown string }{
		{`7`, "7"}, {`0`, "0"}, {`-6`, "-6"}, {`30`, "30"}, {`12.5`, "12.5"}, {`"7"`, "7"},
		{`"abc"`, "abc"}, {`true`, "true"}, {`null`, "null"}, {`[6]`, "[6]"}, {`4294967302`, "4294967302"},
	} {
		cases = append(cases, patchCase{name: bad.raw + " rejected", body: nest(name, bad.raw), errs: []string{invalid(name, bad.shown)}})
	}
	runPatchCases(t, cases)
}

func TestPatchWebhookURL(t *testing.T) {
	const name = "webhooks.url"
	setURL := func(u string) func(a *settings.Application) {
		return func(a *settings.Application) { a.Webhooks.URL = u }
	}
	reason := func(u, why string) string { return invalid(name, u) + ": " + why }
	const (
		notAbs    = "must be an absolute https URL"
		plainHTTP = "must use https (plain http is refused unless the server sets WABIZ_WEBHOOK_ALLOW_HTTP=true)"
	)
	long := "https://hooks.example.org/" + strings.Repeat("a", 2048-len("https://hooks.example.org/"))
	runPatchCases(t, []patchCase{
		{name: "empty unsets", body: nest(name, `""`), from: custom, want: setURL("")},
		{name: "blank unsets", body: nest(name, `"   "`), from: custom, want: setURL("")},
		{name: "https", body: nest(name, `"https://hooks.example.org/whatsapp"`), want: setURL("https://hooks.example.org/whatsapp")},
		{name: "https with port query userinfo", body: nest(name, `"https://u:p@hooks.example.org:8443/wa?x=1&y=2"`), want: setURL("https://u:p@hooks.example.org:8443/wa?x=1&y=2")},
		{name: "https trimmed", body: nest(name, `"  https://hooks.example.org/wa  "`), want: setURL("https://hooks.example.org/wa")},
		{name: "https ip literal", body: nest(name, `"https://[::1]:9443/wa"`), want: setURL("https://[::1]:9443/wa")},
		{name: "2048 chars", body: nest(name, fmt.Sprintf("%q", long)), want: setURL(long)},
		{name: "http refused", body: nest(name, `"http://hooks.example.org/wa"`), errs: []string{reason("http://hooks.example.org/wa", plainHTTP)}},
		{name: "http allowed by rules", body: nest(name, `"http://hooks.example.org/wa"`), rules: settings.PatchRules{AllowHTTPWebhook: true}, want: setURL("http://hooks.example.org/wa")},
		{name: "https still fine with http allowed", body: nest(name, `"https://hooks.example.org/wa"`), rules: settings.PatchRules{AllowHTTPWebhook: true}, want: setURL("https://hooks.example.org/wa")},
		{name: "ftp refused even with http allowed", body: nest(name, `"ftp://hooks.example.org/wa"`), rules: settings.PatchRules{AllowHTTPWebhook: true}, errs: []string{reason("ftp://hooks.example.org/wa", notAbs)}},
		{name: "ftp", body: nest(name, `"ftp://hooks.example.org/wa"`), errs: []string{reason("ftp://hooks.example.org/wa", notAbs)}},
		{name: "relative path", body: nest(name, `"/wa/hook"`), errs: []string{reason("/wa/hook", notAbs)}},
		{name: "no scheme", body: nest(name, `"hooks.example.org/wa"`), errs: []string{reason("hooks.example.org/wa", notAbs)}},
		{name: "no host", body: nest(name, `"https:///wa"`), errs: []string{reason("https:///wa", notAbs)}},
		{name: "scheme only", body: nest(name, `"https://"`), errs: []string{reason("https://", notAbs)}},
		{name: "port without host", body: nest(name, `"https://:443/wa"`), errs: []string{reason("https://:443/wa", notAbs)}},
		{name: "opaque", body: nest(name, `"https:hooks.example.org"`), errs: []string{reason("https:hooks.example.org", notAbs)}},
		{name: "unparsable", body: nest(name, `"https://hooks example.org/"`), errs: []string{reason("https://hooks example.org/", notAbs)}},
		{name: "fragment", body: nest(name, `"https://hooks.example.org/wa#top"`), errs: []string{reason("https://hooks.example.org/wa#top", "must not have a fragment")}},
		{name: "too long", body: nest(name, fmt.Sprintf("%q", long+"a")), errs: []string{invalid(name, long+"a")}},
		{name: "number", body: nest(name, `123`), errs: []string{invalid(name, "123")}},
		{name: "bool", body: nest(name, `true`), errs: []string{invalid(name, "true")}},
		{name: "null", body: nest(name, `null`), from: custom, errs: []string{invalid(name, "null")}},
		{name: "object", body: nest(name, `{"u":"https://x"}`), errs: []string{invalid(name, `{"u":"https://x"}`)}},
	})
}

func TestCheckWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		u         string
		allowHTTP bool
		want      string
	}{
		{"https://a.example/x", false, ""},
		{"http://a.example/x", true, ""},
		{"http://a.example/x", false, "must use https (plain http is refused unless the server sets WABIZ_WEBHOOK_ALLOW_HTTP=true)"},
		{"ws://a.example/x", true, "must be an absolute https URL"},
		{"", false, "must be an absolute https URL"},
		{"https://a.example/#", false, ""},
		{"https://a.example/#f", false, "must not have a fragment"},
	} {
		if got := settings.CheckWebhookURL(tc.u, tc.allowHTTP); got != tc.want {
			t.Errorf("CheckWebhookURL(%q, %v) = %q, want %q", tc.u, tc.allowHTTP, got, tc.want)
		}
	}
}

func TestPatchAutoDownload(t *testing.T) {
	const name = "media.auto_download"
	set := func(kinds ...string) func(a *settings.Application) {
		if kinds == nil {
			kinds = []string{}
		}
		return func(a *settings.Application) { a.Media.AutoDownload = kinds }
	}
	runPatchCases(t, []patchCase{
		{name: "subset keeps order", body: nest(name, `["image","document","audio"]`), want: set("image", "document", "audio")},
		{name: "single", body: nest(name, `["voice"]`), from: custom, want: set("voice")},
		{name: "all six", body: nest(name, `["audio","document","image","sticker","video","voice"]`), from: custom, want: set("audio", "document", "image", "sticker", "video", "voice")},
		{name: "dedupes", body: nest(name, `["image","video","image","video","image"]`), want: set("image", "video")},
		{name: "empty list", body: nest(name, `[]`), want: set()},
		{name: "media without auto_download", body: `{"media":{}}`, from: custom},
		{name: "media with unknown key", body: `{"media":{"providers":[]}}`, from: custom},
		{name: "unknown kind", body: nest(name, `["image","gif"]`), errs: []string{invalid(name, "gif")}},
		{name: "kinds are case-sensitive", body: nest(name, `["Image"]`), errs: []string{invalid(name, "Image")}},
		{name: "two unknown kinds", body: nest(name, `["gif","image","pdf"]`), errs: []string{invalid(name, "gif"), invalid(name, "pdf")}},
		{name: "empty string kind", body: nest(name, `[""]`), errs: []string{invalid(name, "")}},
		{name: "string not array", body: nest(name, `"image"`), errs: []string{invalid(name, "image")}},
		{name: "comma string", body: nest(name, `"image,video"`), errs: []string{invalid(name, "image,video")}},
		{name: "null", body: nest(name, `null`), errs: []string{invalid(name, "null")}},
		{name: "object", body: nest(name, `{"image":true}`), errs: []string{invalid(name, `{"image":true}`)}},
		{name: "number items", body: nest(name, `[1,2]`), errs: []string{invalid(name, "[1,2]")}},
		{name: "bool", body: nest(name, `true`), errs: []string{invalid(name, "true")}},
		{name: "media as string", body: `{"media":"x"}`, errs: []string{invalid("media", "x")}},
		{name: "media as array", body: `{"media":["image"]}`, errs: []string{invalid("media", `["image"]`)}},
		{name: "media null", body: `{"media":null}`, errs: []string{invalid("media", "null")}},
	})
}

func TestPatchLogLevel(t *testing.T) {
	set := func(v string) func(a *settings.Application) {
		return func(a *settings.Application) { a.LogLevel = v }
	}
	var cases []patchCase
	for _, lv := range settings.LogLevels {
		for _, spelled := range []string{lv, strings.ToUpper(lv), strings.ToUpper(lv[:1]) + lv[1:]} {
			cases = append(cases, patchCase{name: spelled, body: nest("log_level", fmt.Sprintf("%q", spelled)), from: custom, want: set(lv)})
		}
	}
	for _, bad := range []struct{ raw, shown string }{
		{`"trace"`, "trace"}, {`"warning"`, "warning"}, {`"Verbose"`, "Verbose"}, {`""`, ""}, {`" info"`, " info"},
		{`1`, "1"}, {`true`, "true"}, {`null`, "null"}, {`["info"]`, `["info"]`},
		{`"debugdebugdebugdebug"`, "debugdebugdebugdebug"},
	} {
		cases = append(cases, patchCase{name: bad.raw + " rejected", body: nest("log_level", bad.raw), errs: []string{invalid("log_level", bad.shown)}})
	}
	runPatchCases(t, cases)
}

func TestPatchOnCallPager(t *testing.T) {
	max := strings.Repeat("p", 128)
	runPatchCases(t, []patchCase{
		{name: "set", body: `{"on_call_pager":"12345-67890@g.us"}`, want: func(a *settings.Application) { a.OnCallPager = "12345-67890@g.us" }},
		{name: "clear", body: `{"on_call_pager":""}`, from: custom, want: func(a *settings.Application) { a.OnCallPager = "" }},
		{name: "128 bytes", body: nest("on_call_pager", fmt.Sprintf("%q", max)), want: func(a *settings.Application) { a.OnCallPager = max }},
		{name: "129 bytes", body: nest("on_call_pager", fmt.Sprintf("%q", max+"p")), errs: []string{invalid("on_call_pager", max+"p")}},
		{name: "number", body: `{"on_call_pager":12345}`, errs: []string{invalid("on_call_pager", "12345")}},
		{name: "null", body: `{"on_call_pager":null}`, from: custom, errs: []string{invalid("on_call_pager", "null")}},
	})
}

func TestPatchNestedMerge(t *testing.T) {
	runPatchCases(t, []patchCase{
		{
			name: "webhooks.url keeps max_concurrent_requests and message",
			body: `{"webhooks":{"url":"https://new.example.org/wa"}}`,
			from: custom,
			want: func(a *settings.Application) { a.Webhooks.URL = "https://new.example.org/wa" },
		},
		{
			name: "webhooks.max_concurrent_requests keeps url and message",
			body: `{"webhooks":{"max_concurrent_requests":24}}`,
			from: custom,
			want: func(a *settings.Application) { a.Webhooks.MaxConcurrentRequests = 24 },
		},
		{
			name: "webhooks.message.read keeps sent and delivered",
			body: `{"webhooks":{"message":{"read":true}}}`,
			from: custom,
			want: func(a *settings.Application) { a.Webhooks.Message.Read = true },
		},
		{
			name: "empty webhooks object changes nothing",
			body: `{"webhooks":{}}`,
			from: custom,
		},
		{
			name: "empty webhooks.message changes nothing",
			body: `{"webhooks":{"message":{}}}`,
			from: custom,
		},
		{
			name: "garbagecollector_enable.media keeps messages",
			body: `{"garbagecollector_enable":{"media":false}}`,
			from: custom,
			want: func(a *settings.Application) { a.GarbageCollectorEnable.Media = false },
		},
		{
			name: "top-level key leaves every object alone",
			body: `{"pass_through":false}`,
			from: custom,
			want: func(a *settings.Application) { a.PassThrough = false },
		},
		{
			name: "unknown nested keys ignored beside known ones",
			body: `{"webhooks":{"url":"https://n.example/wa","secret":"x","message":{"sent":false,"failed":true}}}`,
			from: custom,
			want: func(a *settings.Application) {
				a.Webhooks.URL = "https://n.example/wa"
				a.Webhooks.Message.Sent = false
			},
		},
	})
}

func TestPatchGarbageCollectorSpellings(t *testing.T) {
	setGC := func(v bool) func(a *settings.Application) {
		return func(a *settings.Application) { a.GarbageCollectorEnable.Messages, a.DBGarbageCollectorEnable = v, v }
	}
	desynced := func() settings.Application {
		a := settings.Defaults()
		a.DBGarbageCollectorEnable = true
		a.GarbageCollectorEnable.Messages = false
		return a
	}
	runPatchCases(t, []patchCase{
		{name: "old spelling off", body: `{"db_garbagecollector_enable":false}`, want: setGC(false)},
		{name: "new spelling off", body: `{"garbagecollector_enable":{"messages":false}}`, want: setGC(false)},
		{name: "old spelling on", body: `{"db_garbagecollector_enable":true}`, from: custom, want: setGC(true)},
		{name: "new spelling on", body: `{"garbagecollector_enable":{"messages":true}}`, from: custom, want: setGC(true)},
		{name: "new spelling wins (true)", body: `{"db_garbagecollector_enable":false,"garbagecollector_enable":{"messages":true}}`, from: custom, want: setGC(true)},
		{name: "new spelling wins (false)", body: `{"db_garbagecollector_enable":true,"garbagecollector_enable":{"messages":false}}`, want: setGC(false)},
		{name: "old spelling with media", body: `{"db_garbagecollector_enable":false,"garbagecollector_enable":{"media":true}}`,
			want: func(a *settings.Application) { setGC(false)(a); a.GarbageCollectorEnable.Media = true }},
		{name: "desynced input is mirrored on any patch", body: `{"sent_status":true}`, from: desynced,
			want: func(a *settings.Application) { a.SentStatus = true; a.DBGarbageCollectorEnable = false }},
		{name: "bad old spelling", body: `{"db_garbagecollector_enable":"false"}`, errs: []string{invalid("db_garbagecollector_enable", "false")}},
		{name: "object as bool", body: `{"garbagecollector_enable":true}`, errs: []string{invalid("garbagecollector_enable", "true")}},
	})
}

func TestPatchNoValidParameters(t *testing.T) {
	runPatchCases(t, []patchCase{
		{name: "nil body", body: "", errs: []string{noValid}},
		{name: "empty object", body: `{}`, errs: []string{noValid}},
		{name: "unknown key", body: `{"foo":1}`, errs: []string{noValid}},
		{name: "several unknown keys", body: `{"foo":1,"bar":{"baz":true},"Callback_Persist":true}`, errs: []string{noValid}},
		{name: "wa_id only", body: `{"wa_id":"15550009999"}`, errs: []string{noValid}},
		{name: "wa_id and unknown", body: `{"wa_id":"15550009999","settings":{}}`, from: custom, errs: []string{noValid}},
		{name: "nested key at top level", body: `{"url":"https://a.example/wa","sent":true}`, errs: []string{noValid}},
	})
}

func TestPatchLegacyKeys(t *testing.T) {
	legacy := []string{
		"webcallbacks", "contacts_api_rate_limit", "control_api_rate_limit", "healthcheck_api_rate_limit",
		"messaging_api_rate_limit", "contacts_scrape_rate_limit", "unique_message_sends_rate_limit",
		"allow_nonexistent_users", "dogfood_user_limit", "template_send_side_validation_disabled",
		"axolotl_context_striping_logical_core_multiplier",
	}
	var cases []patchCase
	for _, k := range legacy {
		cases = append(cases,
			patchCase{name: k, body: nest(k, `true`)},
			patchCase{name: k + " from custom", body: nest(k, `"anything"`), from: custom},
		)
	}
	cases = append(cases,
		patchCase{name: "legacy and unknown", body: `{"allow_nonexistent_users":true,"foo":1}`},
		patchCase{name: "legacy beside a real key", body: `{"allow_nonexistent_users":true,"sent_status":true}`, want: func(a *settings.Application) { a.SentStatus = true }},
		patchCase{name: "legacy does not excuse a bad key", body: `{"allow_nonexistent_users":true,"sent_status":"yes"}`, errs: []string{invalid("sent_status", "yes")}},
		patchCase{name: "wa_id ignored beside a real key", body: `{"wa_id":"999","verbose_logging":false}`, from: custom, want: func(a *settings.Application) { a.VerboseLogging = false }},
	)
	runPatchCases(t, cases)
}

func TestPatchNonObjects(t *testing.T) {
	var cases []patchCase
	for _, obj := range []string{"webhooks", "media", "garbagecollector_enable", "webhooks.message"} {
		for _, bad := range []struct{ raw, shown string }{
			{`"x"`, "x"}, {`null`, "null"}, {`[]`, "[]"}, {`5`, "5"}, {`true`, "true"}, {`[{"url":"https://a.example"}]`, `[{"url":"https://a.example"}]`},
		} {
			cases = append(cases, patchCase{name: obj + "=" + bad.raw, body: nest(obj, bad.raw), from: custom, errs: []string{invalid(obj, bad.shown)}})
		}
	}
	runPatchCases(t, cases)
}

func TestPatchManyErrorsTogether(t *testing.T) {
	body := `{
		"log_level": "loud",
		"webhooks": {"url": "http://a.example/wa", "max_concurrent_requests": 7, "message": {"read": "no", "sent": 1}},
		"media": {"auto_download": ["gif", "image", "tiff"]},
		"heartbeat_interval": 0,
		"callback_persist": "yes",
		"garbagecollector_enable": {"media": null},
		"on_call_pager": 5,
		"sent_status": true,
		"verbose_logging": false,
		"allow_nonexistent_users": true,
		"unknown": 1
	}`
	want := []string{
		invalid("callback_persist", "yes"),
		invalid("garbagecollector_enable.media", "null"),
		invalid("heartbeat_interval", "0"),
		invalid("media.auto_download", "gif"),
		invalid("media.auto_download", "tiff"),
		invalid("webhooks.url", "http://a.example/wa") + ": must use https (plain http is refused unless the server sets WABIZ_WEBHOOK_ALLOW_HTTP=true)",
		invalid("webhooks.max_concurrent_requests", "7"),
		invalid("webhooks.message.sent", "1"),
		invalid("webhooks.message.read", "no"),
		invalid("on_call_pager", "5"),
		invalid("log_level", "loud"),
	}
	// Map iteration is random: the order must not depend on it.
	for i := 0; i < 50; i++ {
		for _, from := range []func() settings.Application{settings.Defaults, custom} {
			start := from()
			got, err := settings.Patch(start, decodeBody(t, body), settings.PatchRules{})
			checkAPIErr(t, err, want...)
			if !reflect.DeepEqual(got, from()) {
				t.Fatalf("failed PATCH changed the settings:\n got %+v\nwant %+v", got, from())
			}
		}
	}
}

// TestPatchSpecExamples applies the bodies of onprem-rest.md §8.1.
func TestPatchSpecExamples(t *testing.T) {
	runPatchCases(t, []patchCase{
		{
			name: "typical client PATCH",
			body: `{ "webhooks": { "url": "https://hooks.example.org/whatsapp", "max_concurrent_requests": 12 },
			  "callback_persist": true, "sent_status": true,
			  "media": { "auto_download": [ "image", "document", "audio" ] } }`,
			want: func(a *settings.Application) {
				a.Webhooks.URL = "https://hooks.example.org/whatsapp"
				a.Webhooks.MaxConcurrentRequests = 12
				a.CallbackPersist = true
				a.SentStatus = true
				a.Media.AutoDownload = []string{"image", "document", "audio"}
			},
		},
		{
			// A client may PATCH back what GET returned: wa_id is ignored.
			name: "GET example sent back",
			body: `{
			  "callback_backoff_delay_ms": 3000, "callback_persist": true, "db_garbagecollector_enable": true,
			  "garbagecollector_enable": { "media": false, "messages": true }, "heartbeat_interval": 5,
			  "max_callback_backoff_delay_ms": 900000,
			  "media": { "auto_download": [ "image", "video", "voice", "sticker", "audio", "document" ] },
			  "notify_user_change_number": true, "pass_through": false, "sent_status": false,
			  "show_security_notifications": false, "skip_referral_media_download": false,
			  "unhealthy_interval": 30, "wa_id": "15550009999",
			  "webhooks": { "url": "https://hooks.example.org/whatsapp", "max_concurrent_requests": 6,
			    "message": { "sent": false, "delivered": true, "read": true } },
			  "verbose_logging": false, "log_level": "info" }`,
			want: func(a *settings.Application) { a.Webhooks.URL = "https://hooks.example.org/whatsapp" },
		},
		{
			// onprem-runtime.md §3 example, numbers given as the docs' strings.
			name: "runtime example with string numbers",
			body: `{"callback_backoff_delay_ms":"3000","max_callback_backoff_delay_ms":"900000","callback_persist":true,
			  "garbagecollector_enable":{"messages":true,"media":false},"heartbeat_interval":5,"unhealthy_interval":30,
			  "media":{"auto_download":["image","document"]},"notify_user_change_number":true,"show_security_notifications":false,
			  "wa_id":"5511912340000","webhooks":{"url":"https://hooks.example.com/wa","max_concurrent_requests":12,
			  "message":{"sent":true,"delivered":true,"read":true}},"verbose_logging":false,"log_level":"info"}`,
			from: custom,
			want: func(a *settings.Application) {
				a.CallbackBackoffDelayMs, a.MaxCallbackBackoffDelayMs, a.CallbackPersist = 3000, 900000, true
				a.GarbageCollectorEnable = settings.GarbageCollector{Messages: true, Media: false}
				a.DBGarbageCollectorEnable = true
				a.HeartbeatInterval, a.UnhealthyInterval = 5, 30
				a.Media.AutoDownload = []string{"image", "document"}
				a.NotifyUserChangeNumber, a.ShowSecurityNotifications = true, false
				a.Webhooks = settings.Webhooks{URL: "https://hooks.example.com/wa", MaxConcurrentRequests: 12,
					Message: settings.WebhookMessage{Sent: true, Delivered: true, Read: true}}
				a.VerboseLogging, a.LogLevel = false, "info"
			},
		},
	})
}

func TestPatchDoesNotAliasInput(t *testing.T) {
	start := settings.Defaults()
	got, err := settings.Patch(start, decodeBody(t, `{"sent_status":true}`), settings.PatchRules{})
	if err != nil {
		t.Fatal(err)
	}
	got.Media.AutoDownload[0] = "changed"
	if start.Media.AutoDownload[0] != "image" {
		t.Fatalf("result shares auto_download with the input: %v", start.Media.AutoDownload)
	}
}

func TestDefaults(t *testing.T) {
	want := settings.Application{
		CallbackBackoffDelayMs:    3000,
		CallbackPersist:           true,
		DBGarbageCollectorEnable:  true,
		GarbageCollectorEnable:    settings.GarbageCollector{Messages: true, Media: false},
		HeartbeatInterval:         5,
		MaxCallbackBackoffDelayMs: 900000,
		// UNCONFIRMED in the spec ([] vs all six); the docs sample's six are chosen.
		Media:                     settings.Media{AutoDownload: []string{"image", "video", "voice", "sticker", "audio", "document"}},
		NotifyUserChangeNumber:    true,
		PassThrough:               false,
		SentStatus:                false,
		ShowSecurityNotifications: false,
		SkipReferralMediaDownload: false,
		UnhealthyInterval:         30,
		WaID:                      "",
		// UNCONFIRMED message defaults: sent stays off like sent_status.
		Webhooks:                       settings.Webhooks{URL: "", MaxConcurrentRequests: 6, Message: settings.WebhookMessage{Sent: false, Delivered: true, Read: true}},
		AxolotlContextStripingDisabled: false,
		ConversationPricingDisabled:    false,
		OnCallPager:                    "",
		VerboseLogging:                 false,
		LogLevel:                       "info",
	}
	got := settings.Defaults()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Defaults():\n got %+v\nwant %+v", got, want)
	}
	if got.SendSentStatus() {
		t.Error("defaults send a sent status")
	}

	// Each call is a fresh value.
	got.Media.AutoDownload[0] = "changed"
	if settings.Defaults().Media.AutoDownload[0] != "image" {
		t.Fatal("Defaults() shares its auto_download slice")
	}
	if settings.MediaKinds[0] != "image" {
		t.Fatal("Defaults() aliases MediaKinds")
	}

	// The JSON form: every field present, in the documented key order, wa_id
	// omitted when unknown.
	raw, err := json.Marshal(settings.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"callback_backoff_delay_ms":3000,"callback_persist":true,"db_garbagecollector_enable":true,` +
		`"garbagecollector_enable":{"messages":true,"media":false},"heartbeat_interval":5,` +
		`"max_callback_backoff_delay_ms":900000,` +
		`"media":{"auto_download":["image","video","voice","sticker","audio","document"]},` +
		`"notify_user_change_number":true,"pass_through":false,"sent_status":false,` +
		`"show_security_notifications":false,"skip_referral_media_download":false,"unhealthy_interval":30,` +
		`"webhooks":{"url":"","max_concurrent_requests":6,"message":{"sent":false,"delivered":true,"read":true}},` +
		`"axolotl_context_striping_disabled":false,"webhook_payload_conversation_pricingmodel_disabled":false,` +
		`"on_call_pager":"","verbose_logging":false,"log_level":"info"}`
	if string(raw) != wantJSON {
		t.Fatalf("Defaults() JSON:\n got %s\nwant %s", raw, wantJSON)
	}
}

func TestClone(t *testing.T) {
	orig := custom()
	c := orig.Clone()
	if !reflect.DeepEqual(c, orig) {
		t.Fatalf("Clone() = %+v, want %+v", c, orig)
	}
	c.Media.AutoDownload[0] = "video"
	c.Media.AutoDownload = append(c.Media.AutoDownload, "sticker")
	c.Webhooks.URL = "https://other.example/"
	c.Webhooks.Message.Read = true
	c.GarbageCollectorEnable.Media = false
	if !reflect.DeepEqual(orig, custom()) {
		t.Fatalf("changing the clone changed the original: %+v", orig)
	}

	// Appending to a clone must not write into spare capacity of the original.
	roomy := settings.Defaults()
	roomy.Media.AutoDownload = make([]string, 1, 10)
	roomy.Media.AutoDownload[0] = "image"
	a := roomy.Clone()
	b := roomy.Clone()
	a.Media.AutoDownload = append(a.Media.AutoDownload, "video")
	b.Media.AutoDownload = append(b.Media.AutoDownload, "audio")
	if a.Media.AutoDownload[1] != "video" {
		t.Fatalf("clones share a backing array: %v %v", a.Media.AutoDownload, b.Media.AutoDownload)
	}

	// An empty list stays an empty list: GET must show [], not null.
	empty := settings.Defaults()
	empty.Media.AutoDownload = []string{}
	c = empty.Clone()
	if c.Media.AutoDownload == nil {
		t.Fatal("Clone() turned auto_download [] into nil")
	}
	raw, _ := json.Marshal(c.Media)
	if string(raw) != `{"auto_download":[]}` {
		t.Fatalf("clone of [] marshals as %s", raw)
	}
	var zero settings.Application
	if zero.Clone().Media.AutoDownload != nil {
		t.Fatal("Clone() of nil auto_download is not nil")
	}
}

func TestSendSentStatus(t *testing.T) {
	for _, tc := range []struct{ legacy, perStatus, want bool }{
		{false, false, false},
		{true, false, true},
		{false, true, true},
		{true, true, true},
	} {
		a := settings.Defaults()
		a.SentStatus, a.Webhooks.Message.Sent = tc.legacy, tc.perStatus
		if got := a.SendSentStatus(); got != tc.want {
			t.Errorf("sent_status=%v webhooks.message.sent=%v: SendSentStatus() = %v, want %v", tc.legacy, tc.perStatus, got, tc.want)
		}
	}
	// Either switch turned on through PATCH turns it on.
	for _, body := range []string{`{"sent_status":true}`, `{"webhooks":{"message":{"sent":true}}}`} {
		a, err := settings.Patch(settings.Defaults(), decodeBody(t, body), settings.PatchRules{})
		if err != nil {
			t.Fatal(err)
		}
		if !a.SendSentStatus() {
			t.Errorf("after %s SendSentStatus() = false", body)
		}
	}
}
