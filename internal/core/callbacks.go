package core

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/webhook"
)

// The shapes of the callbacks the core produces (onprem-runtime §1).

type inboundCallback struct {
	Contacts []callbackContact `json:"contacts"`
	Messages []json.RawMessage `json:"messages"`
}

type callbackContact struct {
	Profile callbackProfile `json:"profile"`
	WaID    string          `json:"wa_id"`
}

type callbackProfile struct {
	Name string `json:"name"`
}

type systemMessage struct {
	From      string     `json:"from"`
	ID        string     `json:"id"`
	Timestamp string     `json:"timestamp"`
	Type      string     `json:"type"`
	System    systemBody `json:"system"`
}

type systemBody struct {
	Body    string `json:"body"`
	NewWaID string `json:"new_wa_id,omitempty"`
	Type    string `json:"type"`
}

type statusCallback struct {
	Statuses []statusItem `json:"statuses"`
}

type statusItem struct {
	ID           string        `json:"id"`
	RecipientID  string        `json:"recipient_id"`
	Status       string        `json:"status"`
	Timestamp    string        `json:"timestamp"`
	Conversation *conversation `json:"conversation,omitempty"`
	Pricing      *pricing      `json:"pricing,omitempty"`
	Errors       []asyncError  `json:"errors,omitempty"`
}

type conversation struct {
	ID string `json:"id"`
	// On-Premises sends the expiration as a number (the Cloud API sends a
	// string), and only on statuses of the message that opened the
	// conversation.
	ExpirationTimestamp int64  `json:"expiration_timestamp,omitempty"`
	Origin              origin `json:"origin"`
}

type origin struct {
	Type string `json:"type"`
}

type pricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Category     string `json:"category"`
}

// asyncError is an error object of a failed status.
type asyncError struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Details string `json:"details,omitempty"`
}

// asyncTitles are the titles of the errors that appear only on the webhook
// (onprem-rest §14.2); the others come from the API's table.
var asyncTitles = map[int]string{
	400: "Media download error",
	402: "Business eligibility — Payment issue",
	408: "Message is not valid",
	410: "Message expired",
	429: "Rate limit hit",
	430: "Unsigned certificate",
	432: "Certificate ID mismatch",
	433: "Certificate signature invalid",
	470: "Re-engagement message",
	471: "Spam rate limit hit",
	472: "User's number is part of an experiment",
	480: "User potentially changed",
	500: "Generic error",
	501: "Message type is not currently supported",
}

func titleOf(code int) string {
	if t, ok := asyncTitles[code]; ok {
		return t
	}
	e, _ := apierr.Lookup(code)
	return e.Title
}

// Statuses that report on a message without changing its state.
const (
	statusDeleted = "deleted" // the user deleted the message
	statusWarning = "warning" // sent, with a problem (e.g. a catalog item that cannot be shown)
)

// enqueueStatus queues a status callback for m. Statuses of a sent message
// carry its conversation and pricing; "read" does not (as the original
// client's read statuses did not), nor does a message that failed before
// it was sent.
func (c *Core) enqueueStatus(ctx context.Context, m store.OutboxMessage, status string, at time.Time, failure *asyncError) error {
	return c.enqueueReport(ctx, m, status, at, failure, nil)
}

// enqueueReport is enqueueStatus for a status the network reported: the
// network's own conversation and pricing (the Cloud API's), when it gave
// them, replace the ones the core computed, each on its own; a failed
// status carries neither, as On-Premises failed statuses did not.
func (c *Core) enqueueReport(ctx context.Context, m store.OutboxMessage, status string, at time.Time, failure *asyncError, reported *network.StatusEvent) error {
	note, err := c.statusNotification(m, status, at, failure, reported)
	if err != nil {
		return err
	}
	return c.hooks.Enqueue(ctx, note)
}

// statusNotification is the callback enqueueReport queues.
func (c *Core) statusNotification(m store.OutboxMessage, status string, at time.Time, failure *asyncError, reported *network.StatusEvent) (webhook.Notification, error) {
	item := statusItem{ID: m.ID, RecipientID: m.Recipient, Status: status, Timestamp: strconv.FormatInt(at.Unix(), 10)}
	if failure != nil {
		failure.Title = titleOf(failure.Code)
		item.Errors = []asyncError{*failure}
	}
	if status != store.OutboxFailed && !c.settings.Current().ConversationPricingDisabled {
		if m.ConversationID != "" && status != store.OutboxRead && status != statusDeleted {
			conv := &conversation{ID: m.ConversationID, Origin: origin{Type: m.ConversationOrigin}}
			if m.ConversationOpened {
				conv.ExpirationTimestamp = m.ConversationExpiresAt.Unix()
			}
			item.Conversation = conv
			item.Pricing = &pricing{Billable: billable(m.ConversationOrigin), PricingModel: "CBP", Category: m.ConversationOrigin}
		}
		if reported != nil && reported.Conversation != nil {
			rc := reported.Conversation
			item.Conversation = &conversation{ID: rc.ID, Origin: origin{Type: rc.Origin}}
			if !rc.ExpiresAt.IsZero() {
				item.Conversation.ExpirationTimestamp = rc.ExpiresAt.Unix()
			}
		}
		if reported != nil && reported.Pricing != nil {
			rp := reported.Pricing
			item.Pricing = &pricing{Billable: rp.Billable, PricingModel: rp.Model, Category: rp.Category}
		}
	}
	payload, err := json.Marshal(statusCallback{Statuses: []statusItem{item}})
	if err != nil {
		return webhook.Notification{}, err
	}
	return webhook.Notification{Kind: "statuses", Payload: payload}, nil
}

// enqueueErrors queues an errors callback (runtime §1.6): problems that
// concern no single outbound message (the network's reports, a lost
// connection).
func (c *Core) enqueueErrors(ctx context.Context, errs ...asyncError) error {
	note, err := errorsNotification(errs...)
	if err != nil {
		return err
	}
	return c.hooks.Enqueue(ctx, note)
}

// errorsNotification is the callback enqueueErrors queues, for callers that
// queue it together with others.
func errorsNotification(errs ...asyncError) (webhook.Notification, error) {
	for i := range errs {
		errs[i].Title = titleOf(errs[i].Code)
	}
	payload, err := json.Marshal(struct {
		Errors []asyncError `json:"errors"`
	}{errs})
	if err != nil {
		return webhook.Notification{}, err
	}
	return webhook.Notification{Kind: webhook.KindErrors, Payload: payload}, nil
}

// billable: service conversations (replies inside the customer-service
// window) are free; business-initiated categories are charged.
func billable(category string) bool {
	return category != "service" && category != "referral_conversion"
}

func (c *Core) enqueue(ctx context.Context, kind string, payload []byte) error {
	return c.hooks.Enqueue(ctx, webhook.Notification{Kind: kind, Payload: payload})
}
