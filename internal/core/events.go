package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/metrics"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/webhook"
)

// ProcessEvents takes what the network has for the business and handles it:
// status updates, inbound messages, number changes. Each event is
// acknowledged only after what it means is stored and its callback queued, so
// a crash repeats an event (same ids) instead of losing it. It returns how
// many events it saw and how many it left for later (statuses of messages
// whose own send has not been recorded yet: this node claims them again on
// its next pass; so do events refused because the callback queue is full).
// An event whose handling fails otherwise is given back to the network to
// be tried again after a delay that grows with its attempts
// (eventRetryDelay), and the later events of its user or message wait
// behind it, on every node.
func (c *Core) ProcessEvents(ctx context.Context) (seen, deferred int, err error) {
	c.eventsMu.Lock()
	defer c.eventsMu.Unlock()
	events, err := c.net.Events(ctx, c.node, c.batch)
	if err != nil {
		return 0, 0, err
	}
	// Events about different messages and users are handled concurrently, so
	// their writes share group commits; those about one message (its
	// statuses) or one user (their messages) stay in order. Once a report
	// for a message is put off, the message's later reports in the batch are
	// too: "read" must not overtake a "delivered" that waits.
	queues := map[string][]network.Event{}
	var order []string
	for _, e := range events {
		k := e.OrderingKey()
		if _, ok := queues[k]; !ok {
			order = append(order, k)
		}
		queues[k] = append(queues[k], e)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		done     []string
		retries  []network.Retry
		firstErr error
		slots    = make(chan struct{}, eventConcurrency)
	)
	for _, k := range order {
		queue := queues[k]
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			for i, e := range queue {
				handled, err := c.handleSafely(ctx, e)
				mu.Lock()
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
					}
					if errors.Is(err, webhook.ErrOverloaded) {
						// Back-pressure, not a failure: the event stays this
						// node's and is taken again on its next pass, as soon
						// as the callback queue has room.
						break
					}
					// The events behind it are given back too, held as
					// long: any node may then take them all, in order.
					until := c.now().Add(eventRetryDelay(e.Attempts + 1))
					retries = append(retries, network.Retry{ID: e.ID, Until: until, Reason: err.Error()})
					for _, later := range queue[i+1:] {
						retries = append(retries, network.Retry{ID: later.ID, Until: until})
					}
				case handled:
					done = append(done, e.ID)
				default:
					deferred += len(queue) - i
				}
				mu.Unlock()
				if err != nil || !handled {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(done) > 0 {
		if err := c.net.Ack(ctx, done); err != nil {
			return 0, 0, err
		}
	}
	if len(retries) > 0 {
		// Not given back, the events stay this node's and come again on
		// its next pass, as deferred ones do.
		if err := c.net.Retry(ctx, c.node, retries); err != nil {
			return 0, 0, errors.Join(firstErr, err)
		}
	}
	if firstErr != nil {
		return 0, 0, firstErr
	}
	return len(events), deferred, nil
}

// handleSafely is handle, with a panic (a bug meeting an event it did not
// expect) turned into an error: the event stays unacknowledged and is
// logged, and the server keeps serving everything else.
func (c *Core) handleSafely(ctx context.Context, e network.Event) (handled bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("handling an event panicked; it is kept and tried again", "event", e.ID, "kind", e.Kind, "panic", p)
			handled, err = false, fmt.Errorf("core: event %s: panic: %v", e.ID, p)
		}
	}()
	return c.handle(ctx, e)
}

// eventRetryDelay is how long an event whose handling failed for the
// attempt-th time waits before it is tried again: 1 s, doubling, at most a
// minute. A failure that repeats (a bug, a queue that is full) then costs
// one try a minute instead of one each pass.
func eventRetryDelay(attempt int) time.Duration {
	return min(time.Second<<min(max(attempt-1, 0), 6), time.Minute)
}

func (c *Core) handle(ctx context.Context, e network.Event) (bool, error) {
	switch e.Kind {
	case network.EventStatus:
		if e.Status == nil {
			return true, nil
		}
		return c.handleStatus(ctx, e)
	case network.EventMessage:
		if e.Message == nil {
			return true, nil
		}
		return true, c.handleInbound(ctx, e)
	case network.EventNumberChange:
		if e.Change == nil {
			return true, nil
		}
		return true, c.handleNumberChange(ctx, e)
	case network.EventIdentity:
		if e.Identity == nil {
			return true, nil
		}
		return true, c.handleIdentity(ctx, e)
	case network.EventError:
		if e.Error == nil {
			return true, nil
		}
		c.log.Warn("the network reported an error not tied to a message", "code", e.Error.Code, "details", e.Error.Details)
		return true, c.enqueueErrors(ctx, asyncError{Code: e.Error.Code, Details: e.Error.Details})
	default:
		c.log.Warn("ignoring an event of unknown kind", "kind", e.Kind, "id", e.ID)
		return true, nil
	}
}

var statusRank = map[string]int{store.OutboxQueued: 0, store.OutboxSent: 1, store.OutboxDelivered: 2, store.OutboxRead: 3}

func (c *Core) handleStatus(ctx context.Context, e network.Event) (bool, error) {
	st := e.Status
	m, err := c.store.GetOutbox(ctx, st.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		c.log.Warn("status for a message this server does not know", "id", st.MessageID, "status", st.Status)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if m.Status == store.OutboxQueued {
		// The network answered before our worker recorded the send (and its
		// conversation): take this event again on a later pass.
		return false, nil
	}
	if st.Status == "failed" {
		code, details := 500, "Generic error"
		if st.Error != nil {
			code, details = st.Error.Code, st.Error.Details
		}
		return true, c.fail(ctx, m, code, details)
	}
	if st.Status == statusDeleted || st.Status == statusWarning {
		// A report on the message, not a step of its progress: the stored
		// state stays, the business is told.
		var problem *asyncError
		if st.Error != nil {
			problem = &asyncError{Code: st.Error.Code, Details: st.Error.Details}
		}
		metrics.MessageStatuses.WithLabelValues(st.Status).Inc()
		return true, c.enqueueReport(ctx, m, st.Status, e.Time, problem, st)
	}
	if _, known := statusRank[st.Status]; !known || st.Status == store.OutboxQueued {
		c.log.Warn("ignoring an unknown status", "id", st.MessageID, "status", st.Status)
		return true, nil
	}
	cur, moved, err := c.store.AdvanceOutboxFrom(ctx, m, st.Status, "", e.Time)
	if err != nil {
		return false, err
	}
	// Queue the callback when the status moved, and also when it was already
	// there: after a crash between the two steps the event comes back and its
	// callback must not be lost (a duplicate carries the same id).
	if !moved && cur.Status != st.Status {
		return true, nil
	}
	if moved {
		metrics.MessageStatuses.WithLabelValues(st.Status).Inc()
	}
	a := c.settings.Current()
	if st.Status == store.OutboxDelivered && !a.Webhooks.Message.Delivered || st.Status == store.OutboxRead && !a.Webhooks.Message.Read {
		return true, nil
	}
	return true, c.enqueueReport(ctx, cur, st.Status, e.Time, nil, st)
}

func (c *Core) handleInbound(ctx context.Context, e network.Event) error {
	in := e.Message
	downloadFailed := false
	if in.Media != nil && c.media != nil {
		content, failed, err := c.inboundMedia(ctx, in)
		if err != nil {
			return err
		}
		copied := *in
		copied.Content = content
		in = &copied
		downloadFailed = failed
	}
	if in.Type == "unknown" {
		// Content WhatsApp cannot show the business arrives with error 501.
		content, err := appendObject([]byte(`{"errors":[{"code":501,"title":"Unknown message type","details":"Message type is not currently supported"}]}`), in.Content)
		if err != nil {
			return err
		}
		copied := *in
		copied.Content = content
		in = &copied
	}
	body, err := inboundObject(in, e)
	if err != nil {
		return err
	}
	// With security notifications on, a message from a user whose identity
	// changed carries that identity and whether it was acknowledged.
	if c.settings.Current().ShowSecurityNotifications {
		id, err := c.store.GetIdentity(ctx, in.From)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil {
			extra, _ := json.Marshal(map[string]identityObject{"identity": {Acknowledged: id.Acknowledged, CreatedTimestamp: id.CreatedAt.UnixMilli(), Hash: id.Hash}})
			if body, err = appendObject(body, extra); err != nil {
				return err
			}
		}
	}
	inserted, err := c.store.InsertInbound(ctx, store.InboundMessage{ID: in.ID, Sender: in.From, Type: in.Type, Body: body, ReceivedAt: e.Time})
	if err != nil {
		return err
	}
	if inserted {
		metrics.MessagesReceived.Inc() // a redelivered event counts once
	}
	if err := c.store.TouchContact(ctx, in.From, in.ProfileName, e.Time, c.now()); err != nil {
		return err
	}
	payload, err := json.Marshal(inboundCallback{
		Contacts: []callbackContact{{Profile: callbackProfile{Name: in.ProfileName}, WaID: in.From}},
		Messages: []json.RawMessage{body},
	})
	if err != nil {
		return err
	}
	notes := []webhook.Notification{{Kind: webhook.KindMessages, Payload: payload}}
	if downloadFailed {
		// Queued in the same transaction as the message's callback, before
		// the event is acknowledged: a crash loses neither. A repeated event
		// repeats both when the download fails again, as it repeats the
		// message (at least once).
		note, err := errorsNotification(mediaDownloadFailure)
		if err != nil {
			return err
		}
		notes = append(notes, note)
	}
	return c.hooks.Enqueue(ctx, notes...)
}

// inboundObject builds the webhook message object: from, id, timestamp (a
// string of Unix seconds), type, then the type's own keys.
func inboundObject(in *network.InboundMessage, e network.Event) ([]byte, error) {
	head, err := json.Marshal(struct {
		From      string `json:"from"`
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Type      string `json:"type"`
	}{in.From, in.ID, strconv.FormatInt(e.Time.Unix(), 10), in.Type})
	if err != nil {
		return nil, err
	}
	return appendObject(head, in.Content)
}

// appendObject merges the keys of JSON object extra after those of head.
func appendObject(head, extra json.RawMessage) ([]byte, error) {
	var probe map[string]json.RawMessage
	if len(extra) == 0 || json.Unmarshal(extra, &probe) != nil || len(probe) == 0 {
		return head, nil
	}
	trimmed := extra[1:] // drop '{'
	for len(trimmed) > 0 && (trimmed[0] == ' ' || trimmed[0] == '\n' || trimmed[0] == '\t' || trimmed[0] == '\r') {
		trimmed = trimmed[1:]
	}
	out := append([]byte{}, head[:len(head)-1]...)
	out = append(out, ',')
	return append(out, trimmed...), nil
}

func (c *Core) handleNumberChange(ctx context.Context, e network.Event) error {
	ch := e.Change
	if !c.settings.Current().NotifyUserChangeNumber {
		return nil
	}
	return c.enqueueSystemMessage(ctx, systemMessage{
		From: ch.OldWaID, ID: ch.ID, Timestamp: strconv.FormatInt(e.Time.Unix(), 10), Type: "system",
		System: systemBody{Body: "User " + ch.OldWaID + " changed from " + ch.OldWaID + " to " + ch.NewWaID, NewWaID: ch.NewWaID, Type: "user_changed_number"},
	})
}

// enqueueSystemMessage queues a messages callback holding one system message
// (a number or identity change), which names no contact.
func (c *Core) enqueueSystemMessage(ctx context.Context, msg any) error {
	payload, err := json.Marshal(struct {
		Messages []any `json:"messages"`
	}{[]any{msg}})
	if err != nil {
		return err
	}
	return c.enqueue(ctx, "messages", payload)
}

// identityObject is the identity of a user as messages and the identity
// node show it (created_timestamp in milliseconds).
type identityObject struct {
	Acknowledged     bool   `json:"acknowledged"`
	CreatedTimestamp int64  `json:"created_timestamp"`
	Hash             string `json:"hash"`
}

// handleIdentity records a user's new identity; sends to that user need it
// acknowledged (1028) while show_security_notifications is on, and the
// business is told with a system message when that setting is on.
func (c *Core) handleIdentity(ctx context.Context, e network.Event) error {
	ch := e.Identity
	if err := c.store.PutIdentity(ctx, store.Identity{WaID: ch.WaID, Hash: ch.Hash, CreatedAt: e.Time}); err != nil {
		return err
	}
	if !c.settings.Current().ShowSecurityNotifications {
		return nil
	}
	return c.enqueueSystemMessage(ctx, identitySystemMessage{
		From: ch.WaID, ID: ch.ID, Timestamp: strconv.FormatInt(e.Time.Unix(), 10), Type: "system",
		System: identitySystemBody{Body: "User " + ch.WaID + "'s security code changed", Identity: ch.Hash, Customer: ch.WaID, Type: "user_identity_changed"},
	})
}

type identitySystemMessage struct {
	From      string             `json:"from"`
	ID        string             `json:"id"`
	Timestamp string             `json:"timestamp"`
	Type      string             `json:"type"`
	System    identitySystemBody `json:"system"`
}

type identitySystemBody struct {
	Body     string `json:"body"`
	Identity string `json:"identity"`
	Customer string `json:"customer"`
	Type     string `json:"type"`
}
