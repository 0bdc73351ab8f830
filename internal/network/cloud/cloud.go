// Package cloud is the Cloud bridge: a network.Network that delivers
// through Meta's WhatsApp Cloud API (the Graph API) and turns the Cloud's
// webhooks into network events, so that On-Premises integrations keep
// working after the On-Premises client was switched off.
//
// Contract followed (Meta's documentation, and pages that quote it):
//   - Send messages: POST /{phone-number-id}/messages with
//     "messaging_product":"whatsapp", Bearer token; answer
//     {"messaging_product","contacts":[{"input","wa_id"}],"messages":[{"id":"wamid..."}]}
//     https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
//     https://docs.kapso.ai/api/meta/whatsapp/messages/send-a-message
//   - Error codes (Graph error object {"error":{"message","type","code",
//     "error_subcode","error_data","fbtrace_id"}}; 130429, 131026, 131047,
//     131051, 190, ...):
//     https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
//   - Webhooks: {"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{...}}]}]},
//     X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret, raw body),
//     GET verification with hub.mode / hub.verify_token / hub.challenge:
//     https://whatsapp.github.io/WhatsApp-Nodejs-SDK/api-reference/webhooks/start
//     https://hexdocs.pm/whatsapp_sdk/WhatsApp.Webhook.md
//   - Media: GET /{media-id} -> {"url","mime_type","sha256","file_size"},
//     then GET url with the Bearer token; upload POST /{phone-number-id}/media:
//     https://raw.githubusercontent.com/api-evangelist/whatsapp/refs/heads/main/capabilities/cloud-media.yaml
//     https://docs.kapso.ai/api/meta/whatsapp/media/get-media-url.md
//     Uploaded files are cached by our media id (cloud_media) for
//     Options.MediaTTL, as Cloud media ids expire after 30 days.
//   - Business profile: POST /{phone-number-id}/whatsapp_business_profile
//     {"messaging_product","about","address","description","email",
//     "vertical","websites"} (vertical in the Cloud's enum: AUTO, BEAUTY, ...):
//     https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/business-profiles
//   - Profile photo: profile_picture_handle, a handle of the Resumable
//     Upload API: POST /{app-id}/uploads?file_length&file_type ->
//     {"id":"upload:..."}; POST /{upload id} with "Authorization: OAuth
//     <token>", "file_offset: 0" and the bytes -> {"h":handle}:
//     https://developers.facebook.com/docs/graph-api/guides/upload
//   - Two-step PIN change: POST /{phone-number-id} {"pin"}.
//   - Registration: POST /{phone-number-id}/request_code, /verify_code,
//     /register {"messaging_product","pin"}:
//     https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/registration/
//     https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/two-step-verification/
//   - On-Premises <-> Cloud mapping and the shim requirements: spec
//     onprem-runtime.md §10.3.
package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// DefaultGraphURL is the Graph API version the bridge was written against.
const DefaultGraphURL = "https://graph.facebook.com/v21.0"

// DefaultNamespace is the template namespace reported when the WABA does
// not say its own (message_template_namespace needs the
// whatsapp_business_management permission). On-Premises clients send it
// back with every template; the Cloud ignores it, so any fixed value works.
const DefaultNamespace = "wabiz_cloud"

// Store is the storage the bridge needs.
type Store interface {
	BeginCloudSend(ctx context.Context, id string, now time.Time) (store.CloudMessage, error)
	FinishCloudSend(ctx context.Context, id, state, wamid, lastError string, now time.Time) error
	LinkCloudMessage(ctx context.Context, id, wamid string, now time.Time) error
	GetCloudMessage(ctx context.Context, id string) (store.CloudMessage, error)
	CloudMessageByWAMID(ctx context.Context, wamid string) (store.CloudMessage, error)
	AddCloudEvents(ctx context.Context, events []store.CloudEvent) (int, error)
	ForgetCloudItems(ctx context.Context, before time.Time, limit int) (int64, error)
	ClaimCloudEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]store.CloudEvent, error)
	RetryCloudEvents(ctx context.Context, owner string, retries []store.EventRetry, now time.Time) error
	DeleteCloudEvents(ctx context.Context, ids []int64) error
	GetCloudMedia(ctx context.Context, mediaID string) (store.CloudMedia, error)
	PutCloudMedia(ctx context.Context, m store.CloudMedia) error
	DeleteCloudMedia(ctx context.Context, mediaID, cloudID string) error
}

// Options configure a bridge for one business number.
type Options struct {
	GraphURL      string // default DefaultGraphURL
	PhoneNumberID string
	WABAID        string
	AccessToken   string // a system-user token with whatsapp_business_messaging (+ _management)
	AppSecret     string // signs the webhooks
	VerifyToken   string // answers the webhook subscription challenge
	// AppID is the Meta app's id: the profile photo goes through its
	// Resumable Upload API. Without it the photo is not published.
	AppID      string
	PIN        string // two-step verification PIN for /register when the code request carried none
	HTTPClient *http.Client
	Store      Store
	Now        func() time.Time
	Log        *slog.Logger
	Rate       float64 // the deployment's messages per second, default 80 (Cloud's default throughput); SetShare divides it
	// MaxMediaBytes caps a download (default 100 MiB, the Cloud's largest document).
	MaxMediaBytes int64
	// AmbiguousHold is how long a send whose outcome is unknown is held
	// before it is tried again (default 2 minutes). See Send.
	AmbiguousHold time.Duration
	// UnmappedGrace is how long a status for a wamid we cannot map stays
	// pending in case our own send is still recording it (default 2 minutes).
	UnmappedGrace time.Duration
	// MediaTTL is how long an uploaded file's Cloud media id is used again
	// (default DefaultMediaTTL): Cloud media ids expire after 30 days.
	MediaTTL time.Duration
	// ReplayWindow is how long the wamids of delivered messages and
	// statuses are remembered, so a delivery Meta repeats is not handled
	// twice (default DefaultReplayWindow).
	ReplayWindow time.Duration
}

// DefaultReplayWindow outlasts Meta's retries of a webhook delivery, which
// go on for up to 7 days.
const DefaultReplayWindow = 8 * 24 * time.Hour

// DefaultMediaTTL re-uploads a file a day before its Cloud media id expires.
const DefaultMediaTTL = 29 * 24 * time.Hour

// Network implements network.Network over the Cloud API.
type Network struct {
	opt     Options
	http    *http.Client
	store   Store
	now     func() time.Time
	log     *slog.Logger
	limiter *Limiter
	pending chan struct{}

	mu        sync.Mutex
	pin       string          // from the last code request
	account   network.Account // from the last code request
	forgotten time.Time       // when received items were last forgotten
	photo     string          // SHA-256 of the profile photo last published (or warned about)
	tokenLog  time.Time       // when a refused access token was last logged
}

// tokenRefused logs, at most once a minute, that the Cloud refused the
// access token: nothing works until an operator replaces it.
func (n *Network) tokenRefused(ge *GraphError) {
	now := n.now()
	n.mu.Lock()
	due := now.Sub(n.tokenLog) >= time.Minute
	if due {
		n.tokenLog = now
	}
	n.mu.Unlock()
	if due {
		n.log.Error("the Cloud API refused the access token (expired or revoked): replace WABIZ_CLOUD_ACCESS_TOKEN; sends fail with 1005 until then",
			"graph_code", ge.Code, "subcode", ge.Subcode, "message", ge.Message)
	}
}

var _ network.Network = (*Network)(nil)

// graphTransport keeps connections to the Graph API open for the sends
// under way at once: the default transport keeps two idle connections per
// host, so at hundreds of sends a second every other send paid for a new
// TCP and TLS handshake and left a socket in TIME_WAIT.
func graphTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// New builds a bridge.
func New(opt Options) *Network {
	if opt.GraphURL == "" {
		opt.GraphURL = DefaultGraphURL
	}
	opt.GraphURL = strings.TrimRight(opt.GraphURL, "/")
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: graphTransport()}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Rate <= 0 {
		opt.Rate = 80
	}
	if opt.MaxMediaBytes <= 0 {
		opt.MaxMediaBytes = 100 << 20
	}
	if opt.AmbiguousHold <= 0 {
		opt.AmbiguousHold = 2 * time.Minute
	}
	if opt.UnmappedGrace <= 0 {
		opt.UnmappedGrace = 2 * time.Minute
	}
	if opt.MediaTTL <= 0 {
		opt.MediaTTL = DefaultMediaTTL
	}
	if opt.ReplayWindow <= 0 {
		opt.ReplayWindow = DefaultReplayWindow
	}
	return &Network{
		opt: opt, http: opt.HTTPClient, store: opt.Store, now: opt.Now, log: opt.Log,
		limiter: NewLimiter(opt.Rate, opt.Now),
		pending: make(chan struct{}, 1),
		pin:     opt.PIN,
	}
}

// Limiter returns the send rate limiter, so tests can replace its wait.
func (n *Network) Limiter() *Limiter { return n.limiter }

// SetShare makes this node send at its share of Options.Rate, the
// deployment's rate (WABIZ_CLOUD_RATE): the part of the shards it holds,
// as the shard map says (internal/cluster). A share outside (0, 1] is the
// whole rate.
func (n *Network) SetShare(share float64) {
	if share <= 0 || share > 1 {
		share = 1
	}
	n.limiter.SetRate(n.opt.Rate * share)
}

// Pending implements network.Network.
func (n *Network) Pending() <-chan struct{} { return n.pending }

func (n *Network) signal() {
	select {
	case n.pending <- struct{}{}:
	default:
	}
}

// GraphError is the Graph API's error object.
type GraphError struct {
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode,omitempty"`
	ErrorData struct {
		Details string `json:"details,omitempty"`
	} `json:"error_data,omitzero"`
	FBTraceID  string `json:"fbtrace_id,omitempty"`
	HTTPStatus int    `json:"-"`
}

func (e *GraphError) Error() string {
	return fmt.Sprintf("graph error %d (HTTP %d): %s", e.Code, e.HTTPStatus, e.Message)
}

// noGraphCode marks an error answer that was not a Graph error object.
const noGraphCode = -1

// transportError is a call that got no Graph answer: the request may or
// may not have reached Meta.
type transportError struct{ err error }

func (e *transportError) Error() string { return "graph call failed: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// call makes one Graph request with the token. in (when not nil) is sent
// as JSON; out (when not nil) receives the JSON answer.
func (n *Network) call(ctx context.Context, method, path string, in, out any) error {
	url := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		url = n.opt.GraphURL + "/" + strings.TrimLeft(path, "/")
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+n.opt.AccessToken)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return n.do(req, out)
}

func (n *Network) do(req *http.Request, out any) error {
	resp, err := n.http.Do(req)
	if err != nil {
		return &transportError{err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return &transportError{err}
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error *GraphError `json:"error"`
		}
		if json.Unmarshal(raw, &env) != nil || env.Error == nil {
			// Not the Graph's answer (a proxy's page): no code, so the
			// HTTP status decides (code 0 is the Graph's AuthException).
			env.Error = &GraphError{Message: strings.TrimSpace(string(raw)), Code: noGraphCode}
		}
		env.Error.HTTPStatus = resp.StatusCode
		if env.Error.Code == 190 {
			n.tokenRefused(env.Error)
		}
		return env.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("graph answer to %s: %w", req.URL.Path, err)
	}
	return nil
}
