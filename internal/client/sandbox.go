package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
)

// The sandbox control API (/sandbox/v1/...) exists only when the server
// runs the sandbox network, and only the admin may use it.

// SandboxUser is a simulated WhatsApp user.
type SandboxUser struct {
	WaID        string `json:"wa_id"`
	DisplayName string `json:"display_name"`
	Online      bool   `json:"online"`
	// AutoReadMs is how long after delivery the user reads business
	// messages: -1 never, 0 the world's default.
	AutoReadMs int64 `json:"auto_read_ms"`
	Blocked    bool  `json:"blocked"`  // the user blocked the business
	WhatsApp   bool  `json:"whatsapp"` // the number has WhatsApp
}

// SandboxMessage is one message on a simulated user's phone.
type SandboxMessage struct {
	ID string `json:"id"`
	// Status of a message the user received: sent, delivered or read. Of a
	// message the user sent: "read" once the business marked it read, else "".
	Status    string          `json:"status,omitempty"`
	Timestamp string          `json:"timestamp"` // Unix seconds, as text
	Message   json.RawMessage `json:"message"`
}

// Text is the body of a text message, or "[type]" for other types.
func (m SandboxMessage) Text() string {
	var v struct {
		Type string `json:"type"`
		Text *struct {
			Body string `json:"body"`
		} `json:"text"`
	}
	if json.Unmarshal(m.Message, &v) != nil {
		return ""
	}
	switch {
	case v.Text != nil:
		return v.Text.Body
	case v.Type != "":
		return "[" + v.Type + "]"
	}
	return ""
}

// SandboxConversation is what a simulated user's phone shows, oldest first.
type SandboxConversation struct {
	Received []SandboxMessage `json:"received"` // from the business
	Sent     []SandboxMessage `json:"sent"`     // to the business
}

// SandboxWorld holds the rules every simulated user follows unless set
// otherwise for that user.
type SandboxWorld struct {
	NonWhatsAppPattern string   `json:"non_whatsapp_pattern"`
	NonWhatsApp        []string `json:"non_whatsapp"`
	DeliveryDelayMs    int64    `json:"delivery_delay_ms"`
	ReadDelayMs        int64    `json:"read_delay_ms"`
	AutoRead           bool     `json:"auto_read"`
	CodeTTLSeconds     int64    `json:"code_ttl_seconds"`
	ConnectionDown     bool     `json:"connection_down"`
}

func userPath(waID string) string { return "/sandbox/v1/users/" + url.PathEscape(waID) }

// SandboxCertificate is POST /sandbox/v1/certificates: a verified-name
// certificate for +cc phone with display name vname, to pass to
// RequestCode.
func (c *Client) SandboxCertificate(ctx context.Context, cc, phone, vname string) (string, error) {
	var out struct {
		Certificate string `json:"certificate"`
	}
	err := c.Do(ctx, "POST", "/sandbox/v1/certificates", map[string]string{"cc": cc, "phone_number": phone, "vname": vname}, &out)
	if err == nil && out.Certificate == "" {
		err = errors.New("client: the answer carries no certificate")
	}
	return out.Certificate, err
}

// SandboxCode is GET /sandbox/v1/account/code: the registration code the
// sandbox "sent" by SMS or voice after RequestCode.
func (c *Client) SandboxCode(ctx context.Context) (string, error) {
	var out struct {
		Code string `json:"code"`
	}
	err := c.Do(ctx, "GET", "/sandbox/v1/account/code", nil, &out)
	if err == nil && out.Code == "" {
		err = errors.New("client: the answer carries no code")
	}
	return out.Code, err
}

// SandboxUserSend makes simulated user waID write text to the business; it
// returns the inbound message id ("AB...").
func (c *Client) SandboxUserSend(ctx context.Context, waID, text string) (string, error) {
	body := map[string]any{"type": "text", "text": map[string]string{"body": text}}
	var out messageIDs
	if err := c.Do(ctx, "POST", userPath(waID)+"/messages", body, &out); err != nil {
		return "", err
	}
	return out.first()
}

type sandboxUsers struct {
	Users []SandboxUser `json:"users"`
}

func (u sandboxUsers) first() (SandboxUser, error) {
	if len(u.Users) == 0 {
		return SandboxUser{}, errors.New("client: the answer carries no user")
	}
	return u.Users[0], nil
}

// SandboxUsers is GET /sandbox/v1/users: every user the sandbox has met.
func (c *Client) SandboxUsers(ctx context.Context) ([]SandboxUser, error) {
	var out sandboxUsers
	err := c.Do(ctx, "GET", "/sandbox/v1/users", nil, &out)
	return out.Users, err
}

// SandboxUser is GET /sandbox/v1/users/{wa_id}; the sandbox meets a number
// it has not seen yet.
func (c *Client) SandboxUser(ctx context.Context, waID string) (SandboxUser, error) {
	var out sandboxUsers
	if err := c.Do(ctx, "GET", userPath(waID), nil, &out); err != nil {
		return SandboxUser{}, err
	}
	return out.first()
}

// SandboxUpdateUser is PATCH /sandbox/v1/users/{wa_id}: only the keys in
// patch change (display_name, online, auto_read_ms, blocked, whatsapp). A
// user coming back online gets the messages that waited for them.
func (c *Client) SandboxUpdateUser(ctx context.Context, waID string, patch map[string]any) (SandboxUser, error) {
	var out sandboxUsers
	if err := c.Do(ctx, "PATCH", userPath(waID), patch, &out); err != nil {
		return SandboxUser{}, err
	}
	return out.first()
}

// SandboxUserMessages is GET /sandbox/v1/users/{wa_id}/messages.
func (c *Client) SandboxUserMessages(ctx context.Context, waID string) (SandboxConversation, error) {
	var out SandboxConversation
	err := c.Do(ctx, "GET", userPath(waID)+"/messages", nil, &out)
	return out, err
}

// SandboxUserRead makes user waID read business message messageID now.
func (c *Client) SandboxUserRead(ctx context.Context, waID, messageID string) error {
	return c.Do(ctx, "POST", userPath(waID)+"/read", map[string]string{"message_id": messageID}, nil)
}

// SandboxChangeNumber moves user waID to newWaID; the business is told.
func (c *Client) SandboxChangeNumber(ctx context.Context, waID, newWaID string) error {
	return c.Do(ctx, "POST", userPath(waID)+"/number", map[string]string{"new_wa_id": newWaID}, nil)
}

// SandboxChangeIdentity is POST /sandbox/v1/users/{wa_id}/identity: the
// user gets a new identity (a new phone); it returns the new hash.
func (c *Client) SandboxChangeIdentity(ctx context.Context, waID string) (string, error) {
	var out struct {
		Identity struct {
			Hash string `json:"hash"`
		} `json:"identity"`
	}
	err := c.Do(ctx, "POST", userPath(waID)+"/identity", nil, &out)
	return out.Identity.Hash, err
}

// SandboxWorld is GET /sandbox/v1/world.
func (c *Client) SandboxWorld(ctx context.Context) (SandboxWorld, error) {
	var out struct {
		World SandboxWorld `json:"world"`
	}
	err := c.Do(ctx, "GET", "/sandbox/v1/world", nil, &out)
	return out.World, err
}

// SandboxSetWorld is PATCH /sandbox/v1/world: only the keys in patch
// change. It returns the rules now in force.
func (c *Client) SandboxSetWorld(ctx context.Context, patch map[string]any) (SandboxWorld, error) {
	var out struct {
		World SandboxWorld `json:"world"`
	}
	err := c.Do(ctx, "PATCH", "/sandbox/v1/world", patch, &out)
	return out.World, err
}

// SandboxTemplate is one message template of the sandbox's catalogue.
// Definition is the whole definition in Meta's shape, namespace included;
// the other fields are read from it.
type SandboxTemplate struct {
	Namespace  string
	Name       string
	Language   string
	Category   string
	Status     string
	Definition json.RawMessage
}

// UnmarshalJSON keeps the whole definition besides the fields.
func (t *SandboxTemplate) UnmarshalJSON(data []byte) error {
	var v struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Language  string `json:"language"`
		Category  string `json:"category"`
		Status    string `json:"status"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*t = SandboxTemplate{Namespace: v.Namespace, Name: v.Name, Language: v.Language, Category: v.Category, Status: v.Status,
		Definition: append(json.RawMessage(nil), data...)}
	return nil
}

// MarshalJSON writes the definition as the server gave it.
func (t SandboxTemplate) MarshalJSON() ([]byte, error) {
	if len(t.Definition) == 0 {
		return []byte("null"), nil
	}
	return t.Definition, nil
}

type sandboxTemplates struct {
	Namespace string            `json:"namespace"`
	Templates []SandboxTemplate `json:"templates"`
}

func (t sandboxTemplates) first() (SandboxTemplate, error) {
	if len(t.Templates) == 0 {
		return SandboxTemplate{}, errors.New("client: the answer carries no template")
	}
	return t.Templates[0], nil
}

func templatePath(name, language string) string {
	return "/sandbox/v1/templates/" + url.PathEscape(name) + "/" + url.PathEscape(language)
}

// SandboxTemplates is GET /sandbox/v1/templates: the sandbox's template
// namespace and every template, by name then language.
func (c *Client) SandboxTemplates(ctx context.Context) (namespace string, templates []SandboxTemplate, err error) {
	var out sandboxTemplates
	err = c.Do(ctx, "GET", "/sandbox/v1/templates", nil, &out)
	return out.Namespace, out.Templates, err
}

// SandboxTemplate is GET /sandbox/v1/templates/{name}/{language}.
func (c *Client) SandboxTemplate(ctx context.Context, name, language string) (SandboxTemplate, error) {
	var out sandboxTemplates
	if err := c.Do(ctx, "GET", templatePath(name, language), nil, &out); err != nil {
		return SandboxTemplate{}, err
	}
	return out.first()
}

// SandboxAddTemplates is POST /sandbox/v1/templates with definitions in
// Meta's shape: all are added, or none (an invalid definition or an
// existing name and language refuses the batch). It returns them as stored.
func (c *Client) SandboxAddTemplates(ctx context.Context, definitions []json.RawMessage) ([]SandboxTemplate, error) {
	var out sandboxTemplates
	err := c.Do(ctx, "POST", "/sandbox/v1/templates", map[string]any{"templates": definitions}, &out)
	return out.Templates, err
}

// SandboxUpdateTemplate is PATCH /sandbox/v1/templates/{name}/{language}:
// only the keys in patch change (status, category, components).
func (c *Client) SandboxUpdateTemplate(ctx context.Context, name, language string, patch map[string]any) (SandboxTemplate, error) {
	var out sandboxTemplates
	if err := c.Do(ctx, "PATCH", templatePath(name, language), patch, &out); err != nil {
		return SandboxTemplate{}, err
	}
	return out.first()
}

// SandboxSetTemplateStatus changes a template's review status (APPROVED,
// PAUSED, DISABLED, REJECTED, ...): what sends of it made after the call
// returns meet.
func (c *Client) SandboxSetTemplateStatus(ctx context.Context, name, language, status string) (SandboxTemplate, error) {
	return c.SandboxUpdateTemplate(ctx, name, language, map[string]any{"status": status})
}

// SandboxDeleteTemplate is DELETE /sandbox/v1/templates/{name}/{language}.
func (c *Client) SandboxDeleteTemplate(ctx context.Context, name, language string) error {
	return c.Do(ctx, "DELETE", templatePath(name, language), nil, nil)
}
