package console

import (
	"encoding/json"
	"html"
	"html/template"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// A chat is drawn as the customer's phone shows it: what the business
// sent on one side, what the customer sent on the other, oldest first.
// Every text is escaped before WhatsApp's formatting is applied, so no
// markup in a message ever reaches the page as markup.

var (
	monoRE   = regexp.MustCompile("```([^`]+?)```")
	boldRE   = regexp.MustCompile(`(^|[\s(>])\*([^*\n]+?)\*`)
	italicRE = regexp.MustCompile(`(^|[\s(>])_([^_\n]+?)_`)
	strikeRE = regexp.MustCompile(`(^|[\s(>])~([^~\n]+?)~`)
	urlRE    = regexp.MustCompile(`https?://[^\s<>"']+`)
)

// FormatText renders WhatsApp's formatting (*bold*, _italic_, ~strike~,
// ```mono```) of an escaped text, with line breaks.
func FormatText(s string) template.HTML {
	e := html.EscapeString(s)
	e = monoRE.ReplaceAllString(e, "<code>$1</code>")
	e = boldRE.ReplaceAllString(e, "$1<strong>$2</strong>")
	e = italicRE.ReplaceAllString(e, "$1<em>$2</em>")
	e = strikeRE.ReplaceAllString(e, "$1<s>$2</s>")
	e = strings.ReplaceAll(e, "\n", "<br>")
	return template.HTML(e) // escaped above; only our own tags were added
}

var funcs = template.FuncMap{
	"format": FormatText,
	"time":   func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"ms":   func(d time.Duration) int64 { return d.Milliseconds() },
	"join": strings.Join,
	"choice": func(d chatData, b Bubble) choiceData {
		return choiceData{WaID: d.User.WaID, CSRF: d.CSRF, MessageID: b.ID, CanEdit: d.CanEdit, In: b.Choice}
	},
}

// choiceData is what the "choice" template draws a tappable message from.
type choiceData struct {
	WaID, CSRF, MessageID string
	CanEdit               bool
	In                    *Interactive
}

// Bubble is one message of a chat.
type Bubble struct {
	ID       string
	Mine     bool // sent by the customer
	At       time.Time
	Status   string // the ticks: sent, delivered, read ("" or read for the customer's own)
	Type     string
	Text     string
	Preview  *Preview
	Media    *Media
	Caption  string
	Location *Location
	Contacts []Contact
	Choice   *Interactive // an interactive message or a template with buttons
	Reaction string
	ReactTo  string
	ReplyTo  string // the id of the message this one answers
	Reply    string // what the customer picked (button or list reply)
	Raw      string // the stored JSON, for anything not drawn
}

type Preview struct{ URL, Host string }

type Media struct {
	URL, Kind, MimeType, Filename string
}

type Location struct {
	Latitude, Longitude float64
	Name, Address       string
}

type Contact struct{ Name, Phone string }

// Interactive is what a customer can tap: reply buttons, a list, or a
// template's quick replies; Header/Body/Footer are its texts.
type Interactive struct {
	Kind           string // button, list, template
	Header, Body   string
	Footer, Button string
	HeaderFormat   string
	Buttons        []Choice
	Sections       []Section
}

type Choice struct {
	ID, Title, Description string
	Kind                   string // reply, url, phone_number, quick_reply
	URL                    string
}

type Section struct {
	Title string
	Rows  []Choice
}

var mediaKinds = []string{"image", "video", "audio", "voice", "document", "sticker"}

// Bubbles merges a conversation, oldest first.
func Bubbles(received, sent []store.SandboxMessage) []Bubble {
	out := make([]Bubble, 0, len(received)+len(sent))
	for _, m := range received {
		out = append(out, businessBubble(m))
	}
	for _, m := range sent {
		out = append(out, customerBubble(m))
	}
	slices.SortStableFunc(out, func(a, b Bubble) int { return a.At.Compare(b.At) })
	return out
}

type object = map[string]json.RawMessage

func str(o object, key string) string {
	var s string
	json.Unmarshal(o[key], &s)
	return s
}

func sub(o object, key string) object {
	var m object
	json.Unmarshal(o[key], &m)
	return m
}

func businessBubble(m store.SandboxMessage) Bubble {
	b := Bubble{ID: m.ID, At: m.At, Status: m.Status, Raw: string(m.Body)}
	var body object
	if json.Unmarshal(m.Body, &body) != nil {
		b.Type = "unknown"
		return b
	}
	b.Type = str(body, "type")
	if ctx := sub(body, "context"); ctx != nil {
		b.ReplyTo = str(ctx, "message_id")
	}
	fill(&b, body, b.Type)
	if b.Media != nil {
		if got := sub(body, "media"); got != nil && str(got, "id") != "" {
			b.Media.URL = Prefix + "/media/biz-" + url.PathEscape(str(got, "id"))
			b.Media.MimeType = str(got, "mime_type")
		}
	}
	if b.Type == "text" {
		var preview bool
		json.Unmarshal(body["preview_url"], &preview)
		if preview {
			if u := urlRE.FindString(b.Text); u != "" {
				if p, err := url.Parse(u); err == nil {
					b.Preview = &Preview{URL: u, Host: p.Host}
				}
			}
		}
	}
	if b.Type == "template" || b.Type == "hsm" {
		b.Choice = shownTemplate(sub(body, "shown"))
	}
	return b
}

func customerBubble(m store.SandboxMessage) Bubble {
	b := Bubble{ID: m.ID, Mine: true, At: m.At, Status: m.Status, Raw: string(m.Body)}
	var body object
	if json.Unmarshal(m.Body, &body) != nil {
		b.Type = "unknown"
		return b
	}
	if ctx := sub(body, "context"); ctx != nil {
		b.ReplyTo = str(ctx, "id")
	}
	// The stored content has no "type": the one object it holds says it.
	for k := range body {
		if k != "context" && k != "referral" {
			b.Type = k
		}
	}
	fill(&b, body, b.Type)
	if b.Media != nil {
		b.Media.URL = Prefix + "/media/sbx-" + url.PathEscape(m.ID)
	}
	return b
}

// fill reads the type object of a message into the bubble.
func fill(b *Bubble, body object, typ string) {
	o := sub(body, typ)
	switch {
	case typ == "text":
		b.Text = str(o, "body")
	case slices.Contains(mediaKinds, typ):
		b.Media = &Media{Kind: typ, MimeType: str(o, "mime_type"), Filename: str(o, "filename")}
		b.Caption = str(o, "caption")
	case typ == "location":
		var l Location
		json.Unmarshal(body[typ], &l)
		l.Name, l.Address = str(o, "name"), str(o, "address")
		b.Location = &l
	case typ == "contacts":
		var cards []struct {
			Name struct {
				Formatted string `json:"formatted_name"`
			} `json:"name"`
			Phones []struct {
				Phone string `json:"phone"`
			} `json:"phones"`
		}
		json.Unmarshal(body[typ], &cards)
		for _, c := range cards {
			ct := Contact{Name: c.Name.Formatted}
			if len(c.Phones) > 0 {
				ct.Phone = c.Phones[0].Phone
			}
			b.Contacts = append(b.Contacts, ct)
		}
	case typ == "reaction":
		b.Reaction, b.ReactTo = str(o, "emoji"), str(o, "message_id")
	case typ == "interactive" && !b.Mine:
		b.Choice = interactive(o)
	case typ == "interactive":
		kind := str(o, "type")
		r := sub(o, kind)
		b.Reply = str(r, "title")
	case typ == "button":
		b.Reply = str(o, "text")
	}
}

func interactive(o object) *Interactive {
	in := &Interactive{Kind: str(o, "type"), Body: str(sub(o, "body"), "text"), Footer: str(sub(o, "footer"), "text")}
	if h := sub(o, "header"); h != nil {
		in.HeaderFormat, in.Header = str(h, "type"), str(h, "text")
	}
	action := sub(o, "action")
	in.Button = str(action, "button")
	var buttons []struct {
		Reply struct{ ID, Title string } `json:"reply"`
	}
	json.Unmarshal(action["buttons"], &buttons)
	for _, b := range buttons {
		in.Buttons = append(in.Buttons, Choice{ID: b.Reply.ID, Title: b.Reply.Title, Kind: "reply"})
	}
	var sections []struct {
		Title string `json:"title"`
		Rows  []struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"rows"`
	}
	json.Unmarshal(action["sections"], &sections)
	for _, s := range sections {
		sec := Section{Title: s.Title}
		for _, r := range s.Rows {
			sec.Rows = append(sec.Rows, Choice{ID: r.ID, Title: r.Title, Description: r.Description, Kind: "list"})
		}
		in.Sections = append(in.Sections, sec)
	}
	return in
}

// shownTemplate reads the template as the sandbox hydrated it for the phone.
func shownTemplate(o object) *Interactive {
	if o == nil {
		return nil
	}
	in := &Interactive{Kind: "template", Body: str(o, "body"), Footer: str(o, "footer")}
	if h := sub(o, "header"); h != nil {
		in.HeaderFormat, in.Header = str(h, "format"), str(h, "text")
	}
	var buttons []struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		URL     string `json:"url"`
		Phone   string `json:"phone_number"`
		Payload string `json:"payload"`
	}
	json.Unmarshal(o["buttons"], &buttons)
	for _, b := range buttons {
		c := Choice{Title: b.Text, Kind: strings.ToLower(b.Type), URL: b.URL, ID: b.Payload}
		if c.ID == "" {
			c.ID = b.Text
		}
		in.Buttons = append(in.Buttons, c)
	}
	return in
}
