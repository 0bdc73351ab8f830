package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/metrics"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// outboxLease is how long a claimed message is held before another process
// may take it over (a crashed sender's messages are retried after this).
const outboxLease = 30 * time.Second

// maxPending is how long a message may wait unsent before it fails with 408
// (the client was down or could not reach WhatsApp).
const maxPending = 24 * time.Hour

// ProcessOutbox claims the messages that are due and hands them to the
// network; it returns how many it handled.
func (c *Core) ProcessOutbox(ctx context.Context) (int, error) {
	if !c.ready.Load() {
		return 0, nil
	}
	msgs, err := c.store.ClaimOutbox(ctx, c.node, c.now(), outboxLease, c.batch)
	if err != nil {
		return 0, err
	}
	// Different recipients are sent to concurrently (a network round trip
	// each, which would otherwise cap the rate at one message per round
	// trip); one recipient's messages go one after another, in the order
	// they were accepted.
	byRecipient := map[string][]store.OutboxMessage{}
	var order []string
	for _, m := range msgs {
		if _, seen := byRecipient[m.Recipient]; !seen {
			order = append(order, m.Recipient)
		}
		byRecipient[m.Recipient] = append(byRecipient[m.Recipient], m)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, sendConcurrency)
	)
	for _, r := range order {
		queue := byRecipient[r]
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			for _, m := range queue {
				if err := c.deliver(ctx, m); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return // the rest stay leased and are taken again when the lease runs out
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return len(msgs), nil
}

// sendConcurrency bounds how many recipients one process sends to at once.
const sendConcurrency = 64

func (c *Core) deliver(ctx context.Context, m store.OutboxMessage) error {
	now := c.now()
	switch {
	case now.Sub(m.CreatedAt) > maxPending:
		return c.fail(ctx, m, 408, "The message was pending for more than a day and was not sent")
	case !now.Before(m.ExpiresAt):
		return c.fail(ctx, m, 410, "The message was not sent within its time to live")
	}
	// The 24-hour customer-service window is WhatsApp's rule: the network
	// refuses a free-form message outside it (470), as it refuses a number
	// without WhatsApp (1013), and the message fails below.
	p, failure, err := c.prepare(ctx, m)
	if err != nil {
		return err
	}
	if failure != nil {
		return c.fail(ctx, m, failure.Code, failure.Details)
	}
	// A template opens a conversation of its category; anything else is a
	// reply inside the customer-service window.
	origin := "service"
	if p.template != nil && p.template.Definition != nil && p.template.Definition.Category != "" {
		origin = p.template.Definition.Category
	}
	err = c.net.Send(ctx, network.Outgoing{ID: m.ID, To: m.Recipient, Type: m.Type, Body: m.Body, Media: p.media, Template: p.template})
	var ne *network.Error
	switch {
	case err == nil:
	case errors.As(err, &ne) && !ne.Temporary:
		return c.fail(ctx, m, ne.Code, ne.Details)
	default:
		m.Attempts++
		delay := min(time.Duration(1<<min(m.Attempts, 6))*time.Second, time.Minute)
		c.log.Warn("send failed; will retry", "id", m.ID, "attempt", m.Attempts, "retry_in", delay, "err", err)
		return c.store.RescheduleOutbox(ctx, m.ID, m.Attempts, now.Add(delay), err.Error(), now)
	}
	conv, opened, err := c.store.OpenConversation(ctx, m.Recipient, origin, now, conversationLength, newConversationID)
	if err != nil {
		return err
	}
	m.Attempts++
	m.ConversationID, m.ConversationOrigin, m.ConversationExpiresAt, m.ConversationOpened = conv.ID, conv.Origin, conv.ExpiresAt, opened
	// The callback is queued before the status is recorded: a crash in
	// between sends the message again (the network ignores a repeated id)
	// and queues the callback again with the same id, where the other order
	// would lose it for good.
	if c.settings.Current().SendSentStatus() {
		if err := c.enqueueStatus(ctx, m, store.OutboxSent, now, nil); err != nil {
			return err
		}
	}
	moved, err := c.store.MarkOutboxSent(ctx, m, now)
	if moved {
		metrics.MessagesSent.Inc() // wabiz_messages_sent_total, outgoing_messages
	}
	return err
}

func isTemplate(messageType string) bool { return messageType == "template" || messageType == "hsm" }

func newConversationID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// fail ends a message with an asynchronous error: a failed status callback.
// As for "sent", the callback is queued before the status is recorded, so a
// crash in between repeats the callback rather than losing it.
func (c *Core) fail(ctx context.Context, m store.OutboxMessage, code int, details string) error {
	if m.Status != store.OutboxQueued && m.Status != store.OutboxSent {
		return nil // delivered or read messages cannot fail any more
	}
	now := c.now()
	if err := c.enqueueStatus(ctx, m, store.OutboxFailed, now, &asyncError{Code: code, Details: details}); err != nil {
		return err
	}
	_, moved, err := c.store.AdvanceOutbox(ctx, m.ID, store.OutboxFailed, details, now)
	if err != nil {
		return err
	}
	if moved {
		metrics.MessageStatuses.WithLabelValues(store.OutboxFailed).Inc()
	}
	c.log.Info("message failed", "id", m.ID, "recipient", m.Recipient, "code", code, "details", details)
	return nil
}

// ExpireMessages fails sent messages whose time to live ran out before the
// recipient's phone got them (410).
func (c *Core) ExpireMessages(ctx context.Context) (int, error) {
	msgs, err := c.store.ExpiredOutbox(ctx, c.now(), c.batch)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if err := c.fail(ctx, m, 410, "The message was not delivered within its time to live"); err != nil {
			return 0, err
		}
	}
	return len(msgs), nil
}
