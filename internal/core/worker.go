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
	"github.com/wabiz/wabiz/internal/webhook"
)

// outboxLease is how long a claimed message is held before another process
// may take it over (a crashed sender's messages are retried after this).
const outboxLease = 30 * time.Second

// maxPending is how long a message may wait unsent before it fails with 408
// (the client was down or could not reach WhatsApp).
const maxPending = 24 * time.Hour

// ProcessOutbox claims the messages that are due, sends them and returns
// how many it handled once all of them are done (the tests' step; Run keeps
// claiming while earlier sends are still under way, see runOutbox).
func (c *Core) ProcessOutbox(ctx context.Context) (int, error) {
	if !c.ready.Load() {
		return 0, nil
	}
	// A pass starts with nothing in flight: what this node still holds was
	// left behind by a pass that failed half-way.
	msgs, err := c.claimOutbox(ctx, c.batch, true)
	if err != nil {
		return 0, err
	}
	s := newOutboxSender(c.deliverPass)
	s.add(ctx, msgs)
	s.wait()
	if err := s.takeError(); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

// runOutbox is the outbox loop of Run: it claims again as soon as there is
// room, so a slow send (a Cloud round trip) holds up only its recipient's
// later messages, never the next claim.
func (c *Core) runOutbox(ctx context.Context) {
	s := newOutboxSender(c.deliverPass)
	defer s.wait()
	// A claim waits until a quarter of a batch has room, so claims stay
	// large; with a bound below the batch, a quarter of the bound.
	minRoom := max(min(c.batch, c.sendConc)/4, 1)
	for ctx.Err() == nil {
		room := c.sendConc - s.count()
		claimed := 0
		if c.ready.Load() && room >= minRoom {
			// With sends under way, this node's own leases are theirs;
			// only once nothing is in flight are they leftovers of failed
			// sends, to take back at once.
			msgs, err := c.claimOutbox(ctx, min(c.batch, room), s.count() == 0)
			if err != nil && ctx.Err() == nil {
				c.log.Warn("core loop failed; retrying", "loop", "outbox", "err", err)
			}
			claimed = s.add(ctx, msgs)
		}
		if err := s.takeError(); err != nil && ctx.Err() == nil {
			c.log.Warn("send failed; the message is taken again when its lease runs out", "err", err)
		}
		if claimed > 0 && room-claimed >= minRoom {
			continue
		}
		t := time.NewTimer(pollInterval)
		select {
		case <-ctx.Done():
		case <-c.outboxWake:
		case <-s.finished:
		case <-t.C:
		}
		t.Stop()
	}
}

// outboxSender sends claimed messages: one goroutine per recipient with
// messages in flight, so different recipients are sent to concurrently (a
// network round trip each would otherwise cap the rate at one message per
// round trip) while one recipient's messages go out one after another, in
// the order they were accepted. A recipient's goroutine hands all of its
// waiting messages (up to maxRecipientPass) to deliver at once: a network
// that takes several in one call (the sandbox) then records them in one
// commit, where one at a time a single busy recipient waited for a commit
// per message and write.
type outboxSender struct {
	deliver  func(context.Context, []store.OutboxMessage) error
	mu       sync.Mutex
	waiting  map[string][]store.OutboxMessage // recipient -> its next messages; present while its goroutine runs
	inFlight map[string]bool                  // ids claimed and not finished
	firstErr error
	wg       sync.WaitGroup
	finished chan struct{} // a recipient's goroutine ended: there may be room to claim
}

// maxRecipientPass bounds how many of one recipient's messages one call of
// deliver takes, so one pass's commit stays small.
const maxRecipientPass = 64

func newOutboxSender(deliver func(context.Context, []store.OutboxMessage) error) *outboxSender {
	return &outboxSender{deliver: deliver, waiting: map[string][]store.OutboxMessage{}, inFlight: map[string]bool{}, finished: make(chan struct{}, 1)}
}

// add hands claimed messages to their recipients' goroutines and returns how
// many were new. A message already in flight here (claimed again because
// its lease ran out while it waited) is not sent twice.
func (s *outboxSender) add(ctx context.Context, msgs []store.OutboxMessage) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	added := 0
	for _, m := range msgs {
		if s.inFlight[m.ID] {
			continue
		}
		s.inFlight[m.ID] = true
		added++
		if queue, running := s.waiting[m.Recipient]; running {
			s.waiting[m.Recipient] = append(queue, m)
			continue
		}
		s.waiting[m.Recipient] = []store.OutboxMessage{m}
		s.wg.Add(1)
		go s.run(ctx, m.Recipient)
	}
	return added
}

func (s *outboxSender) run(ctx context.Context, recipient string) {
	defer s.wg.Done()
	defer func() {
		select {
		case s.finished <- struct{}{}:
		default:
		}
	}()
	for {
		s.mu.Lock()
		queue := s.waiting[recipient]
		if len(queue) == 0 {
			delete(s.waiting, recipient)
			s.mu.Unlock()
			return
		}
		n := min(len(queue), maxRecipientPass)
		pass := queue[:n:n]
		s.waiting[recipient] = queue[n:]
		s.mu.Unlock()

		err := s.deliver(ctx, pass)
		s.mu.Lock()
		for _, m := range pass {
			delete(s.inFlight, m.ID)
		}
		if err != nil {
			if s.firstErr == nil {
				s.firstErr = err
			}
			// The recipient's later messages stay leased and are taken
			// again when the lease runs out, still in order (those of the
			// pass that were done are no longer queued).
			for _, rest := range s.waiting[recipient] {
				delete(s.inFlight, rest.ID)
			}
			delete(s.waiting, recipient)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

func (s *outboxSender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inFlight)
}

func (s *outboxSender) wait() { s.wg.Wait() }

func (s *outboxSender) takeError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.firstErr
	s.firstErr = nil
	return err
}

// eventConcurrency bounds how many messages and users one process handles events for at once.
const eventConcurrency = 64

// readySend is a message checked and prepared for the network.
type readySend struct {
	m         store.OutboxMessage
	out       network.Outgoing
	origin    string // the conversation's origin: service, or the template's category
	delivered bool   // the network's answer said the phone has it
}

// deliverPass sends one recipient's messages, in order. On a network that
// takes several at once, the messages ready to go are sent together and
// recorded together; one that fails before the network sees it (expired,
// a template gone) fails on its own, in its place.
func (c *Core) deliverPass(ctx context.Context, msgs []store.OutboxMessage) error {
	batcher, ok := c.net.(network.BatchSender)
	if !ok || len(msgs) == 1 {
		for _, m := range msgs {
			if err := c.deliver(ctx, m); err != nil {
				return err
			}
		}
		return nil
	}
	for len(msgs) > 0 {
		var (
			run     []readySend
			failure *asyncError
		)
		for len(run) < len(msgs) {
			r, f, err := c.readyToSend(ctx, msgs[len(run)])
			if err != nil {
				return err
			}
			if failure = f; failure != nil {
				break
			}
			run = append(run, r)
		}
		if len(run) == 0 {
			if err := c.fail(ctx, msgs[0], failure.Code, failure.Details); err != nil {
				return err
			}
			msgs = msgs[1:]
			continue
		}
		outs := make([]network.Outgoing, len(run))
		for i := range run {
			outs[i] = run[i].out
		}
		delivered, sendErr := batcher.SendBatch(ctx, outs)
		c.observeConnection(sendErr)
		for i, d := range delivered {
			run[i].delivered = d
		}
		if err := c.recordSent(ctx, run[:len(delivered)]); err != nil {
			return err
		}
		msgs = msgs[len(delivered):]
		if sendErr != nil {
			if err := c.sendFailed(ctx, msgs[0], sendErr); err != nil {
				return err
			}
			msgs = msgs[1:]
		}
	}
	return nil
}

// deliver sends one message.
func (c *Core) deliver(ctx context.Context, m store.OutboxMessage) error {
	r, failure, err := c.readyToSend(ctx, m)
	if err != nil {
		return err
	}
	if failure != nil {
		return c.fail(ctx, m, failure.Code, failure.Details)
	}
	if reporter, ok := c.net.(network.DeliveryReporter); ok {
		r.delivered, err = reporter.SendReportingDelivery(ctx, r.out)
	} else {
		err = c.net.Send(ctx, r.out)
	}
	c.observeConnection(err)
	if err != nil {
		return c.sendFailed(ctx, m, err)
	}
	return c.recordSent(ctx, []readySend{r})
}

// readyToSend checks and prepares m for the network, or says why it fails
// without reaching it.
func (c *Core) readyToSend(ctx context.Context, m store.OutboxMessage) (readySend, *asyncError, error) {
	now := c.now()
	switch {
	case now.Sub(m.CreatedAt) > maxPending:
		return readySend{}, &asyncError{Code: 408, Details: "The message was pending for more than a day and was not sent"}, nil
	case !now.Before(m.ExpiresAt):
		return readySend{}, &asyncError{Code: 410, Details: "The message was not sent within its time to live"}, nil
	}
	// The 24-hour customer-service window is WhatsApp's rule: the network
	// refuses a free-form message outside it (470), as it refuses a number
	// without WhatsApp (1013), and the message fails then.
	p, failure, err := c.prepare(ctx, m)
	if err != nil || failure != nil {
		return readySend{}, failure, err
	}
	// A template opens a conversation of its category; anything else is a
	// reply inside the customer-service window.
	origin := "service"
	if p.template != nil && p.template.Definition != nil && p.template.Definition.Category != "" {
		origin = p.template.Definition.Category
	}
	out := network.Outgoing{ID: m.ID, To: m.Recipient, Type: m.Type, Body: m.Body, Media: p.media, Template: p.template}
	return readySend{m: m, out: out, origin: origin}, nil, nil
}

// sendFailed handles the network's refusal of m: a permanent one fails the
// message, anything else sends it again later.
func (c *Core) sendFailed(ctx context.Context, m store.OutboxMessage, err error) error {
	var ne *network.Error
	if errors.As(err, &ne) && !ne.Temporary {
		return c.fail(ctx, m, ne.Code, ne.Details)
	}
	now := c.now()
	m.Attempts++
	delay := min(time.Duration(1<<min(m.Attempts, 6))*time.Second, time.Minute)
	c.log.Warn("send failed; will retry", "id", m.ID, "attempt", m.Attempts, "retry_in", delay, "err", err)
	return c.store.RescheduleOutbox(ctx, m.ID, m.Attempts, now.Add(delay), err.Error(), now)
}

// recordSent records messages the network took, all to one recipient: the
// conversation each falls in, its callbacks and its new status, with one
// queueing of the callbacks and one status write for all of them.
func (c *Core) recordSent(ctx context.Context, sent []readySend) error {
	if len(sent) == 0 {
		return nil
	}
	now := c.now()
	a := c.settings.Current()
	var (
		notes    []webhook.Notification
		msgs     = make([]store.OutboxMessage, len(sent))
		statuses = make([]string, len(sent))
		open     = map[string]store.Conversation{} // origin -> the recipient's open conversation
	)
	for i, r := range sent {
		m := r.m
		conv, found := open[r.origin]
		opened := false
		if !found {
			var err error
			if conv, opened, err = c.store.OpenConversation(ctx, m.Recipient, r.origin, now, conversationLength, newConversationID); err != nil {
				return err
			}
			open[r.origin] = conv
		}
		m.Attempts++
		m.ConversationID, m.ConversationOrigin, m.ConversationExpiresAt, m.ConversationOpened = conv.ID, conv.Origin, conv.ExpiresAt, opened
		// The callbacks are queued before the status is recorded: a crash
		// in between sends the message again (the network ignores a
		// repeated id, and reports a delivery it already made again) and
		// queues the callbacks again with the same ids, where the other
		// order would lose them for good.
		statuses[i] = store.OutboxSent
		if r.delivered {
			statuses[i] = store.OutboxDelivered
		}
		if a.SendSentStatus() {
			note, err := c.statusNotification(m, store.OutboxSent, now, nil, nil)
			if err != nil {
				return err
			}
			notes = append(notes, note)
		}
		if r.delivered && a.Webhooks.Message.Delivered {
			note, err := c.statusNotification(m, store.OutboxDelivered, now, nil, nil)
			if err != nil {
				return err
			}
			notes = append(notes, note)
		}
		msgs[i] = m
	}
	if err := c.hooks.Enqueue(ctx, notes...); err != nil {
		return err
	}
	moved, err := c.store.MarkOutboxSent(ctx, msgs, statuses, now)
	for i, ok := range moved {
		if !ok {
			continue
		}
		metrics.MessagesSent.Inc() // wabiz_messages_sent_total, outgoing_messages
		if statuses[i] == store.OutboxDelivered {
			metrics.MessageStatuses.WithLabelValues(store.OutboxDelivered).Inc()
		}
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
	_, moved, err := c.store.AdvanceOutboxFrom(ctx, m, store.OutboxFailed, details, now)
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
// recipient's phone got them (410). Only the leader sweeps: two sweeping
// nodes would each queue a failed callback for the same message before one
// of them recorded it.
func (c *Core) ExpireMessages(ctx context.Context) (int, error) {
	if !c.leads() {
		return 0, nil
	}
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
