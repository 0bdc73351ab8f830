package console

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/network"
)

// The templates page: the sandbox's catalogue (what WhatsApp Manager would
// hold), created and edited as Meta's JSON definition with a live preview
// (static/console.js draws it as the phone would), and paused or resumed.

type templateRow struct {
	network.Template
	Definition string
}

const exampleTemplate = `{
  "name": "order_ready",
  "language": "en",
  "category": "UTILITY",
  "status": "APPROVED",
  "components": [
    {"type": "HEADER", "format": "TEXT", "text": "Your order"},
    {"type": "BODY", "text": "Hello {{1}}, your order *{{2}}* is ready."},
    {"type": "FOOTER", "text": "Acme shop"},
    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]}
  ]
}`

func (c *Console) templates(w http.ResponseWriter, r *http.Request, s *session) error {
	ts, err := c.o.Sandbox.ListTemplates(r.Context())
	if err != nil {
		return err
	}
	rows := make([]templateRow, 0, len(ts))
	for _, t := range ts {
		rows = append(rows, templateRow{Template: t, Definition: indent(t.Body)})
	}
	c.render(w, r, s, http.StatusOK, "templates", map[string]any{"Templates": rows, "Example": exampleTemplate})
	return nil
}

func indent(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func (c *Console) createTemplate(w http.ResponseWriter, r *http.Request, s *session) error {
	def := strings.TrimSpace(r.PostFormValue("definition"))
	if !json.Valid([]byte(def)) || !strings.HasPrefix(def, "{") {
		return badRequest("The definition must be one JSON object in Meta's shape (name, language, category, status, components)")
	}
	ts, err := c.o.Sandbox.AddTemplates(r.Context(), []json.RawMessage{json.RawMessage(def)})
	if err != nil {
		return templateError(err)
	}
	name := ""
	if len(ts) > 0 {
		name = ts[0].Name + " (" + ts[0].Language + ")"
	}
	return back(w, r, Prefix+"/templates", "Template "+name+" saved")
}

// editTemplate changes a template: a new definition (its keys replace the
// stored ones), or action=pause / resume / delete.
func (c *Console) editTemplate(w http.ResponseWriter, r *http.Request, s *session) error {
	name, lang := r.PathValue("name"), r.PathValue("language")
	var patch map[string]json.RawMessage
	switch action := r.PostFormValue("action"); action {
	case "pause":
		patch = map[string]json.RawMessage{"status": json.RawMessage(`"PAUSED"`)}
	case "resume":
		patch = map[string]json.RawMessage{"status": json.RawMessage(`"APPROVED"`)}
	case "delete":
		if err := c.o.Sandbox.DeleteTemplate(r.Context(), name, lang); err != nil {
			return templateError(err)
		}
		return back(w, r, Prefix+"/templates", "Template "+name+" ("+lang+") deleted")
	case "", "save":
		if err := json.Unmarshal([]byte(r.PostFormValue("definition")), &patch); err != nil || patch == nil {
			return badRequest("The definition must be one JSON object")
		}
	default:
		return badRequest("Unknown action %q", action)
	}
	if _, err := c.o.Sandbox.UpdateTemplate(r.Context(), name, lang, patch); err != nil {
		return templateError(err)
	}
	return back(w, r, Prefix+"/templates", "Template "+name+" ("+lang+") saved")
}

// templateError shows the sandbox's validation error as the user's mistake.
func templateError(err error) error {
	if ae, ok := err.(*apierr.Error); ok && ae.Status < 500 {
		return &pageError{ae.Status, ae.Error()}
	}
	return err
}
