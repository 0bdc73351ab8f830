package settings

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
)

// PatchRules carry the server options that change what PATCH accepts.
type PatchRules struct {
	// AllowHTTPWebhook admits http:// webhook URLs (WABIZ_WEBHOOK_ALLOW_HTTP).
	AllowHTTPWebhook bool
}

// legacyKeys were accepted by the Webapp's settings parser without a
// documented meaning. They count as recognised (so a PATCH holding only them
// is not "No valid parameters provided") and are otherwise ignored.
var legacyKeys = []string{
	"webcallbacks", "contacts_api_rate_limit", "control_api_rate_limit", "healthcheck_api_rate_limit",
	"messaging_api_rate_limit", "contacts_scrape_rate_limit", "unique_message_sends_rate_limit",
	"allow_nonexistent_users", "dogfood_user_limit", "template_send_side_validation_disabled",
	"axolotl_context_striping_logical_core_multiplier",
}

// Patch merges body (the decoded top-level JSON object of a PATCH) into a copy
// of current. Only keys present change; nested objects merge key by key. Every
// problem is collected and returned together; on any problem nothing changes.
func Patch(current Application, body map[string]json.RawMessage, rules PatchRules) (Application, *apierr.Error) {
	p := patcher{next: current.Clone(), rules: rules}
	p.boolField(body, "callback_persist", &p.next.CallbackPersist)
	p.intField(body, "callback_backoff_delay_ms", &p.next.CallbackBackoffDelayMs, 1, 86_400_000)
	p.intField(body, "max_callback_backoff_delay_ms", &p.next.MaxCallbackBackoffDelayMs, 1, 86_400_000)
	// The old name is the messages switch of the new object: one setting, two
	// spellings. The new spelling, applied after, wins when both are given.
	p.boolField(body, "db_garbagecollector_enable", &p.next.GarbageCollectorEnable.Messages)
	if raw, ok := p.object(body, "garbagecollector_enable"); ok {
		p.boolField(raw, "garbagecollector_enable.messages", &p.next.GarbageCollectorEnable.Messages)
		p.boolField(raw, "garbagecollector_enable.media", &p.next.GarbageCollectorEnable.Media)
	}
	p.intField(body, "heartbeat_interval", &p.next.HeartbeatInterval, 1, 3600)
	p.intField(body, "unhealthy_interval", &p.next.UnhealthyInterval, 1, 86_400)
	if raw, ok := p.object(body, "media"); ok {
		p.autoDownload(raw)
	}
	p.boolField(body, "notify_user_change_number", &p.next.NotifyUserChangeNumber)
	p.boolField(body, "pass_through", &p.next.PassThrough)
	p.boolField(body, "sent_status", &p.next.SentStatus)
	p.boolField(body, "show_security_notifications", &p.next.ShowSecurityNotifications)
	p.boolField(body, "skip_referral_media_download", &p.next.SkipReferralMediaDownload)
	if raw, ok := p.object(body, "webhooks"); ok {
		p.webhookURL(raw)
		if v, ok := p.intValue(raw, "webhooks.max_concurrent_requests", 0, 1<<31-1); ok {
			if !slices.Contains(AllowedConcurrency, int(v)) {
				p.errs.Merge(apierr.InvalidValue("webhooks.max_concurrent_requests", display(raw[leaf("webhooks.max_concurrent_requests")])))
			} else {
				p.next.Webhooks.MaxConcurrentRequests = int(v)
			}
		}
		if msg, ok := p.object(raw, "webhooks.message"); ok {
			p.boolField(msg, "webhooks.message.sent", &p.next.Webhooks.Message.Sent)
			p.boolField(msg, "webhooks.message.delivered", &p.next.Webhooks.Message.Delivered)
			p.boolField(msg, "webhooks.message.read", &p.next.Webhooks.Message.Read)
		}
	}
	p.boolField(body, "axolotl_context_striping_disabled", &p.next.AxolotlContextStripingDisabled)
	p.boolField(body, "webhook_payload_conversation_pricingmodel_disabled", &p.next.ConversationPricingDisabled)
	p.stringField(body, "on_call_pager", &p.next.OnCallPager, 128)
	p.boolField(body, "verbose_logging", &p.next.VerboseLogging)
	if v, ok := p.stringValue(body, "log_level", 16); ok {
		level := strings.ToLower(v)
		if !slices.Contains(LogLevels, level) {
			p.errs.Merge(apierr.InvalidValue("log_level", v))
		} else {
			p.next.LogLevel = level
		}
	}
	for _, k := range legacyKeys {
		if _, ok := body[k]; ok {
			p.recognised = true
		}
	}
	if p.errs.Len() > 0 {
		return current, p.errs.Err()
	}
	if !p.recognised {
		return current, apierr.New(1009, "No valid parameters provided")
	}
	p.next.DBGarbageCollectorEnable = p.next.GarbageCollectorEnable.Messages
	return p.next, nil
}

type patcher struct {
	next       Application
	rules      PatchRules
	errs       apierr.List
	recognised bool
}

// leaf is the key of a dotted name inside its own object.
func leaf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// display renders a rejected JSON value the way the error text shows it:
// strings without quotes, everything else as written.
func display(raw json.RawMessage) string {
	var s string
	if isString(raw) && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// isString reports whether raw is a JSON string. Decoding null into a Go
// string succeeds (and leaves ""), so a successful Unmarshal alone does not
// prove the value was a string.
func isString(raw json.RawMessage) bool {
	return bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`))
}

func (p *patcher) lookup(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	raw, ok := obj[leaf(name)]
	if ok {
		p.recognised = true
	}
	return raw, ok
}

// object decodes a nested object; anything but an object (null included) is
// an invalid value.
func (p *patcher) object(obj map[string]json.RawMessage, name string) (map[string]json.RawMessage, bool) {
	raw, ok := p.lookup(obj, name)
	if !ok {
		return nil, false
	}
	var inner map[string]json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) && json.Unmarshal(raw, &inner) == nil {
		return inner, true
	}
	p.errs.Merge(apierr.InvalidValue(name, display(raw)))
	return nil, false
}

// boolField accepts only JSON booleans: "true" as a string is rejected, as
// the Webapp rejected it.
func (p *patcher) boolField(obj map[string]json.RawMessage, name string, dst *bool) {
	raw, ok := p.lookup(obj, name)
	if !ok {
		return
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		p.errs.Merge(apierr.InvalidValue(name, display(raw)))
	}
}

// intValue accepts a JSON integer or a string holding one (the docs typed
// some numeric settings as strings), within [min, max].
func (p *patcher) intValue(obj map[string]json.RawMessage, name string, min, max int64) (int64, bool) {
	raw, ok := p.lookup(obj, name)
	if !ok {
		return 0, false
	}
	text := string(bytes.TrimSpace(raw))
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = strings.TrimSpace(s)
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		// 3000.0 is an integer written as a float; 3000.5 is not. Only plain
		// decimal digits qualify: ParseFloat also takes exponents, Inf/NaN,
		// Go hex floats (0x1p4) and digit separators (1_000).
		if f, ferr := strconv.ParseFloat(text, 64); ferr == nil && f == float64(int64(f)) && strings.Trim(text, "+-.0123456789") == "" {
			v, err = int64(f), nil
		}
	}
	if err != nil || v < min || v > max {
		p.errs.Merge(apierr.InvalidValue(name, display(raw)))
		return 0, false
	}
	return v, true
}

func (p *patcher) intField(obj map[string]json.RawMessage, name string, dst *int64, min, max int64) {
	if v, ok := p.intValue(obj, name, min, max); ok {
		*dst = v
	}
}

func (p *patcher) stringValue(obj map[string]json.RawMessage, name string, maxLen int) (string, bool) {
	raw, ok := p.lookup(obj, name)
	if !ok {
		return "", false
	}
	var s string
	if !isString(raw) || json.Unmarshal(raw, &s) != nil || len(s) > maxLen {
		p.errs.Merge(apierr.InvalidValue(name, display(raw)))
		return "", false
	}
	return s, true
}

func (p *patcher) stringField(obj map[string]json.RawMessage, name string, dst *string, maxLen int) {
	if v, ok := p.stringValue(obj, name, maxLen); ok {
		*dst = v
	}
}

func (p *patcher) autoDownload(media map[string]json.RawMessage) {
	const name = "media.auto_download"
	raw, ok := p.lookup(media, name)
	if !ok {
		return
	}
	var kinds []string
	if json.Unmarshal(raw, &kinds) != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		p.errs.Merge(apierr.InvalidValue(name, display(raw)))
		return
	}
	seen := map[string]bool{}
	out := []string{}
	bad := false
	for _, k := range kinds {
		if !slices.Contains(MediaKinds, k) {
			p.errs.Merge(apierr.InvalidValue(name, k))
			bad = true
			continue
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if !bad {
		p.next.Media.AutoDownload = out
	}
}

// webhookURL accepts "" (unset) or an absolute https URL; http only when the
// server allows it. The detail text adds the reason to the documented form.
func (p *patcher) webhookURL(webhooks map[string]json.RawMessage) {
	const name = "webhooks.url"
	v, ok := p.stringValue(webhooks, name, 2048)
	if !ok {
		return
	}
	v = strings.TrimSpace(v)
	if v == "" {
		p.next.Webhooks.URL = ""
		return
	}
	if reason := CheckWebhookURL(v, p.rules.AllowHTTPWebhook); reason != "" {
		p.errs.Addf(1009, "Parameter '%s' has invalid value '%s': %s", name, v, reason)
		return
	}
	p.next.Webhooks.URL = v
}

// CheckWebhookURL returns why u cannot be a webhook URL, or "".
func CheckWebhookURL(u string, allowHTTP bool) string {
	parsed, err := url.Parse(u)
	if err != nil || !parsed.IsAbs() || parsed.Host == "" || parsed.Hostname() == "" {
		return "must be an absolute https URL"
	}
	switch parsed.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return "must use https (plain http is refused unless the server sets WABIZ_WEBHOOK_ALLOW_HTTP=true)"
		}
	default:
		return "must be an absolute https URL"
	}
	if parsed.Fragment != "" {
		return "must not have a fragment"
	}
	return ""
}
