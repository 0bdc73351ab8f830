// Package network is the port to "WhatsApp": what a connection to WhatsApp's
// servers offers a business client. The core talks only to this interface;
// the sandbox (an offline, simulated WhatsApp) and the Cloud API bridge are
// its implementations.
package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wabiz/wabiz/internal/template"
)

// Network is one WhatsApp connection for one business number.
type Network interface {
	// RequestCode starts registering a number: the network checks the
	// verified-name certificate and sends a code by SMS or voice. It returns
	// the display name the certificate carries.
	RequestCode(ctx context.Context, req CodeRequest) (CodeResult, error)
	// Register completes a registration with the code the business received.
	Register(ctx context.Context, code string) (Account, error)
	// Connect (re)opens the connection of a registered account.
	Connect(ctx context.Context, acct Account) error
	// Templates returns the account's message templates.
	Templates(ctx context.Context) ([]Template, error)
	// Send hands one message to the network. A nil error means WhatsApp
	// accepted it (the "sent" status); delivery and reading come later as
	// events. An *Error says why it was refused; Temporary ones may be retried.
	Send(ctx context.Context, msg Outgoing) error
	// MarkRead tells the sender of an inbound message that it was read.
	MarkRead(ctx context.Context, from, messageID string) error
	// DownloadMedia fetches a file a user sent (InboundMessage.Media).
	DownloadMedia(ctx context.Context, networkID string) (data io.ReadCloser, mimeType string, err error)
	// CheckContacts says which numbers are WhatsApp users.
	CheckContacts(ctx context.Context, waIDs []string) ([]ContactStatus, error)
	// Events claims up to max pending events for owner (the node asking),
	// oldest first, leased to it for EventLease. An event stays pending
	// until acknowledged: the core acknowledges only after it has stored
	// what the event means, so a crash in between repeats an event rather
	// than losing it. Owner gets back on its next call what it neither
	// acknowledged nor gave back (it asks only with nothing in flight);
	// another owner gets it only once the lease has run out. Events of one
	// user or one message (Event.OrderingKey) wait while an earlier one is
	// leased to another owner or given back with Retry.
	Events(ctx context.Context, owner string, max int) ([]Event, error)
	// Ack removes handled events.
	Ack(ctx context.Context, ids []string) error
	// Retry gives back events owner claimed and failed to handle: each is
	// handed out again, to any owner, once its Until has passed, and the
	// later events of its user or message wait behind it until then.
	Retry(ctx context.Context, owner string, retries []Retry) error
	// Pending signals (without blocking the sender) when new events may be
	// waiting, so the core need not poll fast. It may be nil.
	Pending() <-chan struct{}
}

// DeliveryReporter is implemented by a network that can know, as it accepts
// a message, that the recipient's phone already has it: the sandbox when its
// world delivers without delay. SendReportingDelivery is Send that also says
// so; a message reported delivered this way gets no "delivered" event later
// (a "read" still comes as an event). The core then records sent and
// delivered in one step instead of waiting for an event that says what it
// already knows.
type DeliveryReporter interface {
	SendReportingDelivery(ctx context.Context, msg Outgoing) (delivered bool, err error)
}

// BatchSender is implemented by a network that takes several messages to
// one recipient in one call: the sandbox, whose "send" is a row in its own
// tables, so a recipient's waiting messages cost one commit instead of one
// each. SendBatch sends msgs, all to the same recipient, in their order. It
// returns, for each of the first n messages sent, whether the phone has it
// already (as SendReportingDelivery); when n < len(msgs), err is why
// msgs[n] was not sent, and the messages after it were not tried.
type BatchSender interface {
	SendBatch(ctx context.Context, msgs []Outgoing) (delivered []bool, err error)
}

// ConnectionProber is implemented by a network that can check, without
// sending anything, that WhatsApp's servers answer. The core probes while
// it doubts the connection (a send or an earlier probe found it down) and
// when nothing has shown it working for a while; a probe that fails with a
// connection-level error (IsConnectionLoss) counts as the connection lost,
// any other answer as the connection working.
type ConnectionProber interface {
	ProbeConnection(ctx context.Context) error
}

// IsConnectionLoss reports whether err says WhatsApp's servers could not be
// reached: a temporary 1014 "Internal error", which a network answers when
// it gets no answer (or a server failure) from them. The message is retried
// as for any temporary error; the core also counts it towards a lost
// connection.
func IsConnectionLoss(err error) bool {
	var ne *Error
	return errors.As(err, &ne) && ne.Temporary && ne.Code == ConnectionLossCode
}

// ConnectionLossCode is the code of a connection-level failure.
const ConnectionLossCode = 1014

// TemplateChanges is implemented by a network whose template catalogue is
// changed through wabiz itself (the sandbox, whose catalogue is rows in the
// shared database), so the core need not wait for its periodic reload to
// see a change.
type TemplateChanges interface {
	// TemplatesVersion is a count that moves with every change of the
	// catalogue, whichever process made it: a core whose catalogue was
	// loaded at another count reloads.
	TemplatesVersion(ctx context.Context) (int64, error)
	// OnTemplatesChanged registers fn to run after each change made in this
	// process is stored, before the call that made it returns.
	OnTemplatesChanged(fn func(ctx context.Context))
}

// CodeRequest is POST /v1/account.
type CodeRequest struct {
	CC          string
	PhoneNumber string
	Method      string // "sms" or "voice"
	Cert        string // base64 verified-name certificate
	Pin         string // two-step PIN, checked by the core before the network is asked
}

// BusinessProfile is what WhatsApp users see of the business.
type BusinessProfile struct {
	About       string   `json:"about"`
	Address     string   `json:"address"`
	Description string   `json:"description"`
	Email       string   `json:"email"`
	Vertical    string   `json:"vertical"`
	Websites    []string `json:"websites"`
	HasPhoto    bool     `json:"has_photo"`
	// Photo is the profile photo (JPEG) when HasPhoto; a network that
	// shows photos takes the bytes from here.
	Photo []byte `json:"-"`
}

// ComplianceInfo is the business's India compliance information: the
// legal entity behind the number, its grievance officer and its customer
// care. WhatsApp shows it to users whose numbers are Indian.
type ComplianceInfo struct {
	EntityName string
	// EntityType is the On-Premises name ("Private Company", "Other", ...);
	// a network maps it to its own vocabulary.
	EntityType       string
	EntityTypeCustom string // set with "Other" and "Partnership"
	IsRegistered     *bool  // nil when the business never said
	CustomerCare     ComplianceContact
	GrievanceOfficer ComplianceContact
}

// ComplianceContact is one contact of ComplianceInfo; empty fields are
// unset (Name is set for the grievance officer only). Phone numbers are
// as the business wrote them: digits, an optional leading "+" and
// separators.
type ComplianceContact struct {
	Name, Email, LandlineNumber, MobileNumber string
}

// CodeResult is what a code request returns.
type CodeResult struct {
	VName string
}

// Account is a registered business number.
type Account struct {
	CC          string `json:"cc"`
	PhoneNumber string `json:"phone_number"`
	WaID        string `json:"wa_id"`
	VName       string `json:"vname"`
}

// Template is one message template translation of the account.
type Template struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Language  string `json:"language"`
	Category  string `json:"category"` // lower-case, as template.ParseDefinition canonicalises it
	Status    string `json:"status"`   // lower-case, as template.ParseDefinition canonicalises it
	// Body is the whole definition in Meta's shape ({"name", "language",
	// "category", "status", "components": [...]}), canonical as
	// template.ParseDefinition returns it: what hydrating a send needs.
	Body json.RawMessage `json:"definition,omitempty"`
}

// Outgoing is a message the business sends.
type Outgoing struct {
	ID    string          // our message id (gB...); the network keeps it
	To    string          // recipient wa_id
	Type  string          // message type
	Body  json.RawMessage // the validated message object
	Media *OutgoingMedia  // the file a media message carries, resolved from the media volume
	// Template is a template message hydrated from the catalogue: what the
	// user's phone shows.
	Template *template.Rendered
}

// OutgoingMedia is a file on the business's media volume that a message
// carries.
type OutgoingMedia struct {
	ID       string // our media id
	Kind     string // image, audio, video, document, sticker
	MimeType string
	Size     int64
	SHA256   string
	Filename string
	Open     func(ctx context.Context) (io.ReadCloser, error)
}

// InboundMedia describes a file a user sent; the bytes stay with the
// network until DownloadMedia.
type InboundMedia struct {
	NetworkID string `json:"network_id"`
	Kind      string `json:"kind"`
	MimeType  string `json:"mime_type"`
	SHA256    string `json:"sha256"`
	Filename  string `json:"filename,omitempty"`
}

// ContactStatus is one result of CheckContacts.
type ContactStatus struct {
	WaID  string
	Valid bool
}

// EventKind says what an event carries.
type EventKind string

// Event kinds.
const (
	EventStatus       EventKind = "status"        // an outbound message was delivered, read or failed
	EventMessage      EventKind = "message"       // a user sent the business a message
	EventNumberChange EventKind = "number_change" // a user moved to a new number
	EventIdentity     EventKind = "identity"      // a user's identity (security code) changed
	EventError        EventKind = "error"         // a problem not tied to one message (Event.Error)
)

// EventLease is how long a claimed event is held by the node that claimed
// it: longer than handling a batch takes (media downloads included), short
// enough that another node takes over a crashed one's events soon.
const EventLease = 2 * time.Minute

// Retry is one event given back after a failed handling (Network.Retry).
type Retry struct {
	ID    string
	Until time.Time // not handed out again before
	// Reason is kept in the event's error history, and an attempt is
	// counted; "" gives back an event that was not tried (one behind a
	// failed event of its user or message), held as long.
	Reason string
}

// Event is something the network tells the business.
type Event struct {
	ID       string // for Ack
	Kind     EventKind
	Time     time.Time
	Attempts int // failed handlings so far (see Network.Retry)
	Status   *StatusEvent
	Message  *InboundMessage
	Change   *NumberChange
	Identity *IdentityChange
	Error    *Error // an EventError: what went wrong, in the On-Premises vocabulary
}

// OrderingKey names what an event must stay in order with: the reports
// of one message, the messages and changes of one user.
func (e Event) OrderingKey() string {
	switch {
	case e.Status != nil:
		return "status:" + e.Status.MessageID
	case e.Message != nil:
		return "user:" + e.Message.From
	case e.Change != nil:
		return "user:" + e.Change.OldWaID
	case e.Identity != nil:
		return "user:" + e.Identity.WaID
	default:
		return "event:" + e.ID
	}
}

// StatusEvent reports progress of an outbound message.
type StatusEvent struct {
	MessageID string `json:"message_id"`
	Recipient string `json:"recipient"`
	// Status is "delivered", "read" or "failed"; also "deleted" (the user
	// deleted the message) and "warning" (sent, with a problem in Error),
	// which report on a message without changing its state.
	Status string `json:"status"`
	Error  *Error `json:"error,omitempty"`
	// Conversation and Pricing are the network's own billing report for the
	// message (the Cloud API sends them); nil leaves them to the core, which
	// computes its own.
	Conversation *Conversation `json:"conversation,omitempty"`
	Pricing      *Pricing      `json:"pricing,omitempty"`
}

// Conversation is the billing conversation a status belongs to, as the
// network reports it.
type Conversation struct {
	ID     string `json:"id"`
	Origin string `json:"origin"` // marketing, utility, authentication, service, ...
	// ExpiresAt is when the conversation ends; zero when not reported (the
	// Cloud reports it only with some statuses of the conversation).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Pricing is how the network bills a message.
type Pricing struct {
	Billable bool   `json:"billable"`
	Model    string `json:"pricing_model"` // CBP, PMP, ...
	Category string `json:"category"`
}

// InboundMessage is a message from a user. Content holds the webhook
// message object's type-specific keys (for a text: {"text":{"body":"hi"}}),
// plus context or referral when present.
type InboundMessage struct {
	ID          string          `json:"id"`
	From        string          `json:"from"`
	ProfileName string          `json:"profile_name"`
	Type        string          `json:"type"`
	Content     json.RawMessage `json:"content"`
	Media       *InboundMedia   `json:"media,omitempty"`
}

// NumberChange reports that a user changed number. ID is the inbound id of
// the system message that tells the business.
type NumberChange struct {
	ID      string `json:"id"`
	OldWaID string `json:"old_wa_id"`
	NewWaID string `json:"new_wa_id"`
}

// IdentityChange reports that a user's identity key changed (a new phone,
// a reinstall). ID is the inbound id of the system message that tells the
// business; Hash identifies the new identity.
type IdentityChange struct {
	ID   string `json:"id"`
	WaID string `json:"wa_id"`
	Hash string `json:"hash"`
}

// Error is a refusal in the On-Premises API's vocabulary: a code of its
// error table and a detail text.
type Error struct {
	Code      int    `json:"code"`
	Details   string `json:"details,omitempty"`
	Temporary bool   `json:"temporary,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("network error %d: %s", e.Code, e.Details)
}
