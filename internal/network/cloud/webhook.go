package cloud

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/metrics"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// SignatureError is a webhook delivery whose X-Hub-Signature-256 is
// missing or wrong: the HTTP layer answers 401 and stores nothing.
type SignatureError struct{ Reason string }

func (e *SignatureError) Error() string { return "cloud webhook signature: " + e.Reason }

// PayloadError is a correctly signed delivery that is not a Cloud webhook
// body: the HTTP layer answers 400.
type PayloadError struct{ Err error }

func (e *PayloadError) Error() string { return "cloud webhook payload: " + e.Err.Error() }
func (e *PayloadError) Unwrap() error { return e.Err }

// Event kinds in cloud_events.
const (
	kindMessage = "message"
	kindStatus  = "status"
	kindError   = "error" // an error of value.errors, tied to no message
)

// storedStatuses are the Cloud statuses that become network events; they
// are the On-Premises statuses besides "sent" (spec runtime §1.5), which the
// core reports itself when Send returns. Others (a voice message "played",
// statuses added after this was written) are logged and counted.
var storedStatuses = map[string]bool{"delivered": true, "read": true, "failed": true, "deleted": true, "warning": true}

// VerifyChallenge answers Meta's subscription check (GET with hub.mode,
// hub.verify_token, hub.challenge): the challenge to echo, and whether the
// token matched. The HTTP layer answers 403 when it did not.
func (n *Network) VerifyChallenge(mode, token, challenge string) (string, bool) {
	if mode != "subscribe" || n.opt.VerifyToken == "" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(n.opt.VerifyToken)) != 1 {
		return "", false
	}
	return challenge, true
}

// Sign returns the X-Hub-Signature-256 value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (n *Network) checkSignature(body []byte, signature string) error {
	if n.opt.AppSecret == "" {
		return &SignatureError{"no app secret is configured, so no delivery can be trusted"}
	}
	if signature == "" {
		return &SignatureError{"missing"}
	}
	got, ok := strings.CutPrefix(signature, "sha256=")
	sum, err := hex.DecodeString(got)
	if !ok || err != nil {
		return &SignatureError{"malformed"}
	}
	mac := hmac.New(sha256.New, []byte(n.opt.AppSecret))
	mac.Write(body)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return &SignatureError{"mismatch"}
	}
	return nil
}

type jsonObject json.RawMessage

func (o *jsonObject) UnmarshalJSON(b []byte) error {
	*o = append((*o)[:0], b...)
	return nil
}

// withoutKeys returns the object without the given top-level keys.
func (o jsonObject) withoutKeys(keys ...string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(o, &m) != nil {
		return json.RawMessage(o)
	}
	for _, k := range keys {
		delete(m, k)
	}
	b, _ := json.Marshal(m)
	return b
}

type webhookBody struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Contacts []cloudContact `json:"contacts"`
				Messages []jsonObject   `json:"messages"`
				Statuses []jsonObject   `json:"statuses"`
				Errors   []jsonObject   `json:"errors"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type cloudContact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID string `json:"wa_id"`
}

// storedMessage is a cloud_events payload of kind "message": the Cloud's
// message object and the sender's profile name from the same delivery.
type storedMessage struct {
	Message     json.RawMessage `json:"message"`
	ProfileName string          `json:"profile_name,omitempty"`
}

// cloudStatus is the part of a status object the bridge reads.
type cloudStatus struct {
	ID           string             `json:"id"`
	Status       string             `json:"status"`
	Timestamp    string             `json:"timestamp"`
	RecipientID  string             `json:"recipient_id"`
	Opaque       string             `json:"biz_opaque_callback_data"`
	Errors       []cloudError       `json:"errors"`
	Conversation *cloudConversation `json:"conversation"`
	Pricing      *cloudPricing      `json:"pricing"`
}

// cloudError is an error object of the Cloud's webhooks (statuses[].errors
// and value.errors).
type cloudError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

func (e cloudError) mapped() *network.Error {
	return mapStatusError(e.Code, e.Title, e.Message, e.ErrorData.Details)
}

// cloudConversation is a status's conversation. The Cloud writes
// expiration_timestamp as a string of Unix seconds; a number is read too.
type cloudConversation struct {
	ID                  string          `json:"id"`
	ExpirationTimestamp json.RawMessage `json:"expiration_timestamp"`
	Origin              struct {
		Type string `json:"type"`
	} `json:"origin"`
}

// cloudPricing is a status's pricing; "type" (per-message pricing's
// regular/free_customer_service/...) has no On-Premises counterpart.
type cloudPricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Category     string `json:"category"`
}

// billing translates the status's conversation and pricing; each is nil
// when the Cloud did not report it (or reported it without its id or
// category), so the core falls back to its own.
func (st cloudStatus) billing() (*network.Conversation, *network.Pricing) {
	var conv *network.Conversation
	if c := st.Conversation; c != nil && c.ID != "" {
		conv = &network.Conversation{ID: c.ID, Origin: c.Origin.Type, ExpiresAt: unixJSON(c.ExpirationTimestamp)}
	}
	var price *network.Pricing
	if p := st.Pricing; p != nil && (p.Category != "" || p.PricingModel != "") {
		price = &network.Pricing{Billable: p.Billable, Model: p.PricingModel, Category: p.Category}
	}
	return conv, price
}

// unixJSON reads Unix seconds written as a JSON string or number; zero
// when absent or unreadable.
func unixJSON(raw json.RawMessage) time.Time {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return time.Time{}
		}
		s = n.String()
	}
	return unixString(s, time.Time{})
}

// HandleWebhook verifies and stores one Cloud webhook delivery. It returns
// nil only once every message and status in it is durable, so the HTTP
// layer may answer 200 (and Meta stops retrying) only then. Changes for
// another phone number of the same app, and fields other than "messages",
// are ignored. "sent" statuses are not stored (the core recorded "sent"
// when Send returned) but link the wamid to our id, which settles a send
// whose outcome was unknown.
func (n *Network) HandleWebhook(ctx context.Context, body []byte, signature string) error {
	if err := n.checkSignature(body, signature); err != nil {
		return err
	}
	var wb webhookBody
	if err := json.Unmarshal(body, &wb); err != nil {
		return &PayloadError{err}
	}
	if wb.Object != "whatsapp_business_account" {
		return &PayloadError{errors.New("object is " + strconv.Quote(wb.Object) + ", not whatsapp_business_account")}
	}
	now := n.now()
	var events []store.CloudEvent
	for _, e := range wb.Entry {
		for _, c := range e.Changes {
			v := c.Value
			if c.Field != "messages" || (n.opt.PhoneNumberID != "" && v.Metadata.PhoneNumberID != "" && v.Metadata.PhoneNumberID != n.opt.PhoneNumberID) {
				continue
			}
			names := map[string]string{}
			for _, ct := range v.Contacts {
				names[ct.WaID] = ct.Profile.Name
			}
			for _, m := range v.Messages {
				var head struct {
					From string `json:"from"`
					ID   string `json:"id"`
				}
				json.Unmarshal(m, &head)
				payload, _ := json.Marshal(storedMessage{Message: json.RawMessage(m), ProfileName: names[head.From]})
				events = append(events, store.CloudEvent{Kind: kindMessage, Payload: payload, ReceivedAt: now, Key: itemKey("m", head.ID),
					OrderingKey: orderingKey("user:", head.From)})
			}
			for _, s := range v.Statuses {
				var st cloudStatus
				if err := json.Unmarshal(s, &st); err != nil {
					return &PayloadError{err}
				}
				if st.Opaque != "" && st.ID != "" {
					if err := n.store.LinkCloudMessage(ctx, st.Opaque, st.ID, now); err != nil {
						return err
					}
				}
				switch {
				case storedStatuses[st.Status]:
					// Keyed by wamid: that is the message, whichever of our
					// ids it turns out to map to.
					events = append(events, store.CloudEvent{Kind: kindStatus, Payload: json.RawMessage(s), ReceivedAt: now, Key: itemKey("s", st.ID, st.Status),
						OrderingKey: orderingKey("status:", st.ID)})
				case st.Status != "sent":
					n.log.Info("ignoring a Cloud status On-Premises has no counterpart for", "status", st.Status, "wamid", st.ID)
					metrics.CloudWebhookItems.WithLabelValues("status", "ignored").Inc()
				}
			}
			for _, e := range v.Errors {
				n.log.Warn("the Cloud API reported an error not tied to a message", "error", string(e))
				events = append(events, store.CloudEvent{Kind: kindError, Payload: json.RawMessage(e), ReceivedAt: now})
			}
		}
	}
	stored, err := n.store.AddCloudEvents(ctx, events)
	if err != nil {
		return err
	}
	n.count(events, stored)
	if stored > 0 {
		n.signal()
	}
	n.forgetOldItems(ctx, now)
	return nil
}

// orderingKey is what a stored item stays in order with (see
// network.Event.OrderingKey); "" when the item names no one.
func orderingKey(prefix, id string) string {
	if id == "" {
		return ""
	}
	return prefix + id
}

// itemKey identifies a webhook item across deliveries; "" (no id) stores
// the item whatever came before.
func itemKey(prefix, id string, more ...string) string {
	if id == "" {
		return ""
	}
	key := prefix + ":" + id
	for _, m := range more {
		key += ":" + m
	}
	if len(key) > 255 {
		return "" // longer than any wamid; not worth a lookup
	}
	return key
}

// count logs and counts what a delivery brought: every item, and the items
// Meta had delivered before (a retry of a delivery whose answer it did not
// get), which are dropped.
func (n *Network) count(events []store.CloudEvent, stored int) {
	for _, e := range events {
		metrics.CloudWebhookItems.WithLabelValues(e.Kind, "received").Inc()
	}
	if dup := len(events) - stored; dup > 0 {
		n.log.Info("dropped items of a Cloud webhook delivery that were received before (Meta repeated a delivery)", "items", len(events), "repeated", dup)
		metrics.CloudWebhookItems.WithLabelValues("any", "duplicate").Add(float64(dup))
	}
}

// forgetOldItems removes, at most once an hour, the keys of items received
// longer than ReplayWindow ago. A failure is logged: the keys wait for the
// next pass.
func (n *Network) forgetOldItems(ctx context.Context, now time.Time) {
	n.mu.Lock()
	due := now.Sub(n.forgotten) >= time.Hour
	if due {
		n.forgotten = now
	}
	n.mu.Unlock()
	if !due {
		return
	}
	for range 10 {
		k, err := n.store.ForgetCloudItems(ctx, now.Add(-n.opt.ReplayWindow), 5000)
		if err != nil {
			n.log.Warn("could not forget old Cloud webhook items", "err", err)
			return
		}
		if k < 5000 {
			return
		}
	}
}

// Events implements network.Network: pending webhook items, translated.
// Inbound message ids are the Cloud's wamids, kept as they are (On-Premises
// clients treat ids as opaque strings, the inbound table takes 128
// characters, and MarkRead and replies need no map). A status whose wamid
// maps to none of our messages stays pending for UnmappedGrace, in case
// our send is still recording it, then passes with the wamid (the core
// logs and drops it).
func (n *Network) Events(ctx context.Context, owner string, max int) ([]network.Event, error) {
	now := n.now()
	rows, err := n.store.ClaimCloudEvents(ctx, owner, now, network.EventLease, max)
	if err != nil {
		return nil, err
	}
	var out []network.Event
	var junk []int64
	for _, r := range rows {
		ev, ok, err := n.translateEvent(ctx, r, now)
		if err != nil {
			return nil, err
		}
		switch {
		case ok:
			ev.Attempts = r.Attempts
			out = append(out, ev)
		case ev.ID == "junk":
			junk = append(junk, r.ID)
		}
	}
	if len(junk) > 0 {
		if err := n.store.DeleteCloudEvents(ctx, junk); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Ack implements network.Network.
func (n *Network) Ack(ctx context.Context, ids []string) error {
	nums := make([]int64, 0, len(ids))
	for _, id := range ids {
		v, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			continue
		}
		nums = append(nums, v)
	}
	return n.store.DeleteCloudEvents(ctx, nums)
}

// Retry implements network.Network.
func (n *Network) Retry(ctx context.Context, owner string, retries []network.Retry) error {
	rs := make([]store.EventRetry, 0, len(retries))
	for _, r := range retries {
		v, err := strconv.ParseInt(r.ID, 10, 64)
		if err != nil {
			continue // not one of ours, as in Ack
		}
		rs = append(rs, store.EventRetry{ID: v, Until: r.Until, Reason: r.Reason})
	}
	return n.store.RetryCloudEvents(ctx, owner, rs, n.now())
}

func unixString(s string, fallback time.Time) time.Time {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return fallback
	}
	return time.Unix(v, 0).UTC()
}

// translateEvent makes a network event of a stored item. ok false: not
// now (ev.ID "") or never (ev.ID "junk": unreadable, dropped).
func (n *Network) translateEvent(ctx context.Context, r store.CloudEvent, now time.Time) (network.Event, bool, error) {
	id := strconv.FormatInt(r.ID, 10)
	switch r.Kind {
	case kindStatus:
		var st cloudStatus
		if json.Unmarshal(r.Payload, &st) != nil {
			return network.Event{ID: "junk"}, false, nil
		}
		ourID, err := n.ourID(ctx, st.ID, st.Opaque)
		if err != nil {
			return network.Event{}, false, err
		}
		if ourID == "" {
			if now.Sub(r.ReceivedAt) < n.opt.UnmappedGrace {
				return network.Event{}, false, nil
			}
			ourID = st.ID
		}
		se := &network.StatusEvent{MessageID: ourID, Recipient: st.RecipientID, Status: st.Status}
		se.Conversation, se.Pricing = st.billing()
		switch {
		case len(st.Errors) > 0:
			se.Error = st.Errors[0].mapped()
		case st.Status == "failed":
			se.Error = &network.Error{Code: 500, Details: "Generic error"}
		}
		return network.Event{ID: id, Kind: network.EventStatus, Time: unixString(st.Timestamp, r.ReceivedAt), Status: se}, true, nil
	case kindError:
		var ce cloudError
		if json.Unmarshal(r.Payload, &ce) != nil {
			return network.Event{ID: "junk"}, false, nil
		}
		return network.Event{ID: id, Kind: network.EventError, Time: r.ReceivedAt, Error: ce.mapped()}, true, nil
	case kindMessage:
		var sm storedMessage
		if json.Unmarshal(r.Payload, &sm) != nil {
			return network.Event{ID: "junk"}, false, nil
		}
		ev, err := n.translateMessage(ctx, sm)
		if err != nil {
			return network.Event{ID: "junk"}, false, nil
		}
		ev.ID = id
		if ev.Time.IsZero() {
			ev.Time = r.ReceivedAt
		}
		return ev, true, nil
	}
	return network.Event{ID: "junk"}, false, nil
}

// ourID maps a status's wamid to our message id: through the map, or the
// id we sent as biz_opaque_callback_data when it is one of ours. "" when
// neither knows it.
func (n *Network) ourID(ctx context.Context, wamid, opaque string) (string, error) {
	m, err := n.store.CloudMessageByWAMID(ctx, wamid)
	if err == nil {
		return m.ID, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if opaque != "" {
		if _, err := n.store.GetCloudMessage(ctx, opaque); err == nil {
			return opaque, nil
		}
	}
	return "", nil
}
