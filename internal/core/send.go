package core

import (
	"context"
	"errors"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// Send is the accept path of POST /v1/messages: readiness, back-pressure and
// the rules that need the core's state, then one durable insert. No network
// call (but the bounded catalogue reload of a template send the catalogue
// cannot serve): a worker hands the message to the network afterwards. Its
// database work is bounded by Options.DBTimeout: a database that is down or
// stuck gets the client a 500/1023 answer in time, never a hang.
func (c *Core) Send(ctx context.Context, out *message.Outbound) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.dbWait)
	defer cancel()
	own, err := c.acceptsSends(ctx)
	if err != nil {
		return "", err
	}
	if err := c.callbackQueueFull(ctx); err != nil {
		return "", err
	}
	if out.WaID == own {
		return "", apierr.New(1021, "Cannot send a message to the business's own number")
	}
	if c.settings.Current().ShowSecurityNotifications {
		id, err := c.store.GetIdentity(ctx, out.WaID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", c.databaseError(err)
		}
		if err == nil && !id.Acknowledged {
			return "", apierr.Newf(1028, "The identity of %s changed: acknowledge it with PUT /v1/contacts/%s/identity before sending", out.WaID, out.WaID)
		}
	}
	if out.Template != nil {
		// Checked against the catalogue in force: no network call unless the
		// catalogue lacks the template, and the client hears at once of a
		// missing or paused one.
		if apiErr := c.checkTemplate(ctx, out); apiErr != nil {
			return "", apiErr
		}
	}
	if err := c.checkMediaAtAccept(ctx, out); err != nil {
		return "", err
	}
	body, err := out.Body()
	if err != nil {
		return "", err
	}
	plan, err := planOf(out)
	if err != nil {
		return "", err
	}
	now := c.now()
	ttl := message.DefaultTTL
	if out.TTLSet {
		ttl = out.TTL
	}
	id := message.NewOutboundID(out.WaID)
	err = c.store.InsertOutbox(ctx, store.OutboxMessage{
		ID: id, Recipient: out.WaID, Type: out.Type, Body: body, Plan: plan,
		ScheduledAt: now, CreatedAt: now, ExpiresAt: now.Add(ttl),
	})
	if err != nil {
		return "", c.databaseError(err)
	}
	c.wake(c.outboxWake)
	return id, nil
}

// databaseError is the answer when the accept path's database work fails or
// runs out of time: 500/1023 "Database error occurred", the code the
// On-Premises table reserves for it, so a client can tell an outage from a
// bug and retry. The cause goes to the log only.
func (c *Core) databaseError(err error) error {
	c.log.Error("send not accepted: database error", "err", err)
	return apierr.New(1023, "The message could not be stored: the database is unavailable or did not answer in time; retry later")
}

func (c *Core) notReady() error {
	if _, ok := c.Account(); !ok {
		return c.notRegistered()
	}
	return c.startingUp()
}

func (c *Core) notRegistered() error {
	c.log.Info("Service not ready: no number is registered")
	return apierr.New(1011, "Service not ready: register a number with POST /v1/account first")
}

func (c *Core) startingUp() error {
	c.log.Info("Service not ready: start-up in progress")
	return apierr.New(1011, "Service not ready: start-up in progress (loading templates and offline messages); retry shortly")
}

// MarkRead is PUT /v1/messages/{id}: the business read an inbound message;
// the sender sees it.
func (c *Core) MarkRead(ctx context.Context, id string) error {
	if _, err := c.acceptsSends(ctx); err != nil {
		return err
	}
	m, err := c.store.GetInbound(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return apierr.New(1006, "Message not found")
	}
	if err != nil {
		return err
	}
	if err := c.net.MarkRead(ctx, m.Sender, m.ID); err != nil {
		var ne *network.Error
		if !errors.As(err, &ne) || ne.Code != 1006 {
			return networkError(err)
		}
	}
	return c.store.MarkInboundRead(ctx, id, c.now())
}

// conversationLength is how long a conversation stays open.
const conversationLength = 24 * time.Hour
