package settings_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/wabiz/wabiz/internal/settings"
)

// FuzzPatch feeds arbitrary PATCH bodies to Patch, under both rule sets.
//
// Properties:
//   - it never panics;
//   - a rejected body changes nothing and every error is a 1009 with a text;
//   - an accepted body yields valid settings, which marshal to JSON, and that
//     JSON, decoded and PATCHed onto the defaults, is accepted and gives the
//     same settings again (GET output can always be PATCHed back), and PATCHing
//     it onto the result itself changes nothing.
//
// The round trip holds although wa_id and the legacy keys are not settings:
// Patch never takes wa_id from a body, Defaults() has none (so the marshalled
// result has no wa_id key either), and legacy keys are never stored, so they
// cannot appear in the output to begin with.
func FuzzPatch(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"foo":1}`,
		`{"wa_id":"15550009999"}`,
		`{"allow_nonexistent_users":true}`,
		`{"callback_persist":"true"}`,
		`{"callback_persist":null}`,
		`{"callback_backoff_delay_ms":"3000.0","max_callback_backoff_delay_ms":3000.5}`,
		`{"heartbeat_interval":"0x1p4","unhealthy_interval":"1_0"}`,
		`{"heartbeat_interval":99999999999999999999}`,
		`{"webhooks":{"url":"https://hooks.example.org/whatsapp","max_concurrent_requests":12}}`,
		`{"webhooks":{"url":"http://hooks.example.org/x","max_concurrent_requests":"18"}}`,
		`{"webhooks":{"url":"  https://a.example/x#f  ","message":{"sent":true,"read":1}}}`,
		`{"webhooks":{"url":null}}`,
		`{"webhooks":"x"}`,
		`{"media":{"auto_download":["image","image",""]}}`,
		`{"media":{"auto_download":[]}}`,
		`{"media":{"auto_download":[null]}}`,
		`{"db_garbagecollector_enable":false,"garbagecollector_enable":{"messages":true,"media":true}}`,
		`{"log_level":"WARN","on_call_pager":"12345@g.us"}`,
		`{"log_level":"\u0130NFO"}`,
		"{\"on_call_pager\":\"\xff\xfe\"}", // invalid UTF-8, decoded as U+FFFD
		typical,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var body map[string]json.RawMessage
		if json.Unmarshal(data, &body) != nil {
			t.Skip()
		}
		for _, rules := range []settings.PatchRules{{}, {AllowHTTPWebhook: true}} {
			checkPatchProperties(t, body, rules)
		}
	})
}

func checkPatchProperties(t *testing.T, body map[string]json.RawMessage, rules settings.PatchRules) {
	got, err := settings.Patch(settings.Defaults(), body, rules)
	if err != nil {
		if !reflect.DeepEqual(got, settings.Defaults()) {
			t.Fatalf("rejected PATCH changed the settings: %+v", got)
		}
		if err.Status != 400 || len(err.Details) == 0 {
			t.Fatalf("error %+v: want HTTP 400 with details", err)
		}
		for _, d := range err.Details {
			if d.Code != 1009 || d.Title != "Parameter value is not valid" || d.Details == "" {
				t.Fatalf("error detail %+v: want 1009 with a text", d)
			}
		}
		return
	}

	checkValid(t, got, rules)
	raw, merr := json.Marshal(got)
	if merr != nil {
		t.Fatalf("result does not marshal: %v", merr)
	}
	var again map[string]json.RawMessage
	if uerr := json.Unmarshal(raw, &again); uerr != nil {
		t.Fatalf("marshalled result %s does not decode: %v", raw, uerr)
	}
	back, err := settings.Patch(settings.Defaults(), again, rules)
	if err != nil {
		t.Fatalf("PATCH of the marshalled result %s failed: %v", raw, err)
	}
	if !reflect.DeepEqual(back, got) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v\n via %s", back, got, raw)
	}
	same, err := settings.Patch(got, again, rules)
	if err != nil || !reflect.DeepEqual(same, got) {
		t.Fatalf("PATCH of the result onto itself: %+v, %v", same, err)
	}
}

// checkValid asserts the invariants every accepted PATCH must keep.
func checkValid(t *testing.T, a settings.Application, rules settings.PatchRules) {
	t.Helper()
	if a.DBGarbageCollectorEnable != a.GarbageCollectorEnable.Messages {
		t.Fatalf("db_garbagecollector_enable %v != garbagecollector_enable.messages %v", a.DBGarbageCollectorEnable, a.GarbageCollectorEnable.Messages)
	}
	if a.Media.AutoDownload == nil {
		t.Fatal("auto_download is nil (would render as null)")
	}
	seen := map[string]bool{}
	for _, k := range a.Media.AutoDownload {
		if !slices.Contains(settings.MediaKinds, k) || seen[k] {
			t.Fatalf("auto_download %q: unknown or repeated kind", a.Media.AutoDownload)
		}
		seen[k] = true
	}
	if !slices.Contains(settings.AllowedConcurrency, a.Webhooks.MaxConcurrentRequests) {
		t.Fatalf("max_concurrent_requests %d", a.Webhooks.MaxConcurrentRequests)
	}
	if !slices.Contains(settings.LogLevels, a.LogLevel) {
		t.Fatalf("log_level %q", a.LogLevel)
	}
	if a.Webhooks.URL != "" {
		if why := settings.CheckWebhookURL(a.Webhooks.URL, rules.AllowHTTPWebhook); why != "" {
			t.Fatalf("webhooks.url %q accepted: %s", a.Webhooks.URL, why)
		}
	}
	for _, n := range []struct {
		name     string
		v        int64
		min, max int64
	}{
		{"callback_backoff_delay_ms", a.CallbackBackoffDelayMs, 1, 86_400_000},
		{"max_callback_backoff_delay_ms", a.MaxCallbackBackoffDelayMs, 1, 86_400_000},
		{"heartbeat_interval", a.HeartbeatInterval, 1, 3600},
		{"unhealthy_interval", a.UnhealthyInterval, 1, 86_400},
	} {
		if n.v < n.min || n.v > n.max {
			t.Fatalf("%s = %d out of range", n.name, n.v)
		}
	}
	if len(a.OnCallPager) > 128 {
		t.Fatalf("on_call_pager is %d bytes", len(a.OnCallPager))
	}
	if a.WaID != "" {
		t.Fatalf("wa_id %q taken from the body", a.WaID)
	}
}
