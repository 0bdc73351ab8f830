package sandboxapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/sandbox"
)

// The sandbox's message template catalogue (/sandbox/v1/templates): what
// WhatsApp Manager would hold for the business. Definitions go in and come
// out in Meta's shape ({"name", "language", "category", "status",
// "components"}), plus the sandbox's "namespace" on the way out, so a
// definition copied from Meta's API (or from this one) can be posted as is.
// A send made after a change has been answered meets it: the sandbox tells
// the core, which reloads before the answer is written.

type sandboxTemplatesResponse struct {
	Namespace string            `json:"namespace"`
	Templates []json.RawMessage `json:"templates"`
}

// templatesResponse renders templates with the namespace in each
// definition.
func templatesResponse(ns string, ts []network.Template) sandboxTemplatesResponse {
	out := sandboxTemplatesResponse{Namespace: ns, Templates: make([]json.RawMessage, 0, len(ts))}
	for _, t := range ts {
		out.Templates = append(out.Templates, definitionJSON(t))
	}
	return out
}

// definitionJSON is the stored definition with "namespace" first, unless
// the definition carries one already.
func definitionJSON(t network.Template) json.RawMessage {
	body := bytes.TrimSpace(t.Body)
	var keys map[string]json.RawMessage
	if len(body) < 2 || body[0] != '{' || json.Unmarshal(body, &keys) != nil {
		// Not an object: never stored by this code, but a listing must not
		// fail over one row.
		fallback, _ := json.Marshal(map[string]string{"namespace": t.Namespace, "name": t.Name, "language": t.Language, "category": t.Category, "status": t.Status})
		return fallback
	}
	if _, ok := keys["namespace"]; ok {
		return json.RawMessage(body)
	}
	ns, _ := json.Marshal(t.Namespace)
	var b bytes.Buffer
	b.WriteString(`{"namespace":`)
	b.Write(ns)
	if rest := bytes.TrimSpace(body[1:]); len(rest) > 0 && rest[0] != '}' {
		b.WriteByte(',')
	}
	b.Write(body[1:])
	return b.Bytes()
}

// templates is GET /sandbox/v1/templates: the whole catalogue, by
// name then language.
func (h handlers) templates(w http.ResponseWriter, r *http.Request) error {
	ns, err := h.control.Namespace(r.Context())
	if err != nil {
		return err
	}
	ts, err := h.control.ListTemplates(r.Context())
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, templatesResponse(ns, ts))
	return nil
}

// template is GET /sandbox/v1/templates/{name}/{language}.
func (h handlers) template(w http.ResponseWriter, r *http.Request) error {
	t, err := h.control.Template(r.Context(), r.PathValue("name"), r.PathValue("language"))
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, templatesResponse(t.Namespace, []network.Template{t}))
	return nil
}

// addTemplates is POST /sandbox/v1/templates. The body is one
// definition, or {"templates": [definitions...]} to add several at once
// (all or none).
func (h handlers) addTemplates(w http.ResponseWriter, r *http.Request) error {
	p, err := api.ReadParams(r)
	if err != nil {
		return err
	}
	var defs []json.RawMessage
	if list, ok := p["templates"]; ok {
		if json.Unmarshal(list, &defs) != nil || len(defs) == 0 {
			return apierr.InvalidValue("templates", api.DisplayJSON(list))
		}
	} else {
		// The parser, not this handler, says what a definition lacks: an
		// empty body is a definition with nothing in it.
		one, _ := json.Marshal(p)
		defs = []json.RawMessage{one}
	}
	ts, err := h.control.AddTemplates(r.Context(), defs)
	if err != nil {
		return err
	}
	ns := ""
	if len(ts) > 0 {
		ns = ts[0].Namespace
	}
	h.env.WriteOK(w, http.StatusCreated, templatesResponse(ns, ts))
	return nil
}

// updateTemplate is PATCH /sandbox/v1/templates/{name}/{language}:
// any of status, category and components, in Meta's shape. Approving,
// pausing or disabling a template is a status change.
func (h handlers) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	p, err := api.ReadParams(r)
	if err != nil {
		return err
	}
	patch := map[string]json.RawMessage{}
	for _, k := range sandbox.TemplatePatchKeys {
		if v, ok := p[k]; ok {
			patch[k] = v
		}
	}
	if len(patch) == 0 {
		return apierr.New(1009, "No valid parameters provided")
	}
	t, err := h.control.UpdateTemplate(r.Context(), r.PathValue("name"), r.PathValue("language"), patch)
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, templatesResponse(t.Namespace, []network.Template{t}))
	return nil
}

// deleteTemplate is DELETE /sandbox/v1/templates/{name}/{language}.
func (h handlers) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	if err := h.control.DeleteTemplate(r.Context(), r.PathValue("name"), r.PathValue("language")); err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, nil)
	return nil
}
