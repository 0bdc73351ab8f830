// Package settings holds the application settings of /v1/settings/application:
// the fields with their defaults, the PATCH rules (merge, exact type checks,
// documented error texts), and a service that persists them and lets every part
// of the server see a change without a restart.
package settings

import "slices"

// Application is the whole settings object as GET returns it. Field order is
// the response's key order.
type Application struct {
	CallbackBackoffDelayMs         int64            `json:"callback_backoff_delay_ms"`
	CallbackPersist                bool             `json:"callback_persist"`
	DBGarbageCollectorEnable       bool             `json:"db_garbagecollector_enable"`
	GarbageCollectorEnable         GarbageCollector `json:"garbagecollector_enable"`
	HeartbeatInterval              int64            `json:"heartbeat_interval"`
	MaxCallbackBackoffDelayMs      int64            `json:"max_callback_backoff_delay_ms"`
	Media                          Media            `json:"media"`
	NotifyUserChangeNumber         bool             `json:"notify_user_change_number"`
	PassThrough                    bool             `json:"pass_through"`
	SentStatus                     bool             `json:"sent_status"`
	ShowSecurityNotifications      bool             `json:"show_security_notifications"`
	SkipReferralMediaDownload      bool             `json:"skip_referral_media_download"`
	UnhealthyInterval              int64            `json:"unhealthy_interval"`
	WaID                           string           `json:"wa_id,omitempty"`
	Webhooks                       Webhooks         `json:"webhooks"`
	AxolotlContextStripingDisabled bool             `json:"axolotl_context_striping_disabled"`
	ConversationPricingDisabled    bool             `json:"webhook_payload_conversation_pricingmodel_disabled"`
	OnCallPager                    string           `json:"on_call_pager"`
	VerboseLogging                 bool             `json:"verbose_logging"`
	LogLevel                       string           `json:"log_level"`
}

// GarbageCollector holds the late-version GC switches.
type GarbageCollector struct {
	Messages bool `json:"messages"`
	Media    bool `json:"media"`
}

// Media holds the inbound media settings.
type Media struct {
	AutoDownload []string `json:"auto_download"`
}

// Webhooks holds the callback configuration.
type Webhooks struct {
	URL                   string         `json:"url"`
	MaxConcurrentRequests int            `json:"max_concurrent_requests"`
	Message               WebhookMessage `json:"message"`
}

// WebhookMessage toggles the per-status callbacks (v2.41.2+).
type WebhookMessage struct {
	Sent      bool `json:"sent"`
	Delivered bool `json:"delivered"`
	Read      bool `json:"read"`
}

// MediaKinds are the inbound media kinds auto_download may name.
var MediaKinds = []string{"image", "video", "voice", "sticker", "audio", "document"}

// AllowedConcurrency are the values webhooks.max_concurrent_requests accepts.
var AllowedConcurrency = []int{6, 12, 18, 24}

// LogLevels are the values log_level accepts.
var LogLevels = []string{"debug", "info", "warn", "error"}

// Defaults returns the factory settings. Where the spec leaves a default
// UNCONFIRMED the choice is recorded in docs/decisions.md.
func Defaults() Application {
	return Application{
		CallbackBackoffDelayMs:    3000,
		CallbackPersist:           true,
		DBGarbageCollectorEnable:  true,
		GarbageCollectorEnable:    GarbageCollector{Messages: true, Media: false},
		HeartbeatInterval:         5,
		MaxCallbackBackoffDelayMs: 900000,
		Media:                     Media{AutoDownload: append([]string(nil), MediaKinds...)},
		NotifyUserChangeNumber:    true,
		PassThrough:               false,
		SentStatus:                false,
		ShowSecurityNotifications: false,
		SkipReferralMediaDownload: false,
		UnhealthyInterval:         30,
		Webhooks: Webhooks{
			MaxConcurrentRequests: 6,
			Message:               WebhookMessage{Sent: false, Delivered: true, Read: true},
		},
		LogLevel: "info",
	}
}

// Clone returns a deep copy, so a caller can keep a snapshot while the
// service swaps in a new value.
func (a Application) Clone() Application {
	a.Media.AutoDownload = slices.Clone(a.Media.AutoDownload) // keeps [] as [] (GET must not show null)
	return a
}

// SendSentStatus reports whether outbound messages get a "sent" callback:
// either the legacy switch or the per-status toggle turns it on.
func (a Application) SendSentStatus() bool { return a.SentStatus || a.Webhooks.Message.Sent }
