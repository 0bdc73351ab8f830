package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/template"
)

// The sandbox's message template catalogue: what WhatsApp Manager would
// hold for the business, kept in the database so every node sees the same
// catalogue. The core reads it through Templates when it loads templates.
// Unlike WhatsApp Manager, the sandbox tells the core of a change
// (network.TemplateChanges): a core in this process reloads before the call
// that made the change returns, one in another process when it sees the
// store's change count move.
//
// Refusals are API errors (*apierr.Error) from the start, because the
// definition parser already speaks that vocabulary: validation errors are
// the parser's, an existing template is 1004, an unknown one 1006.

// TemplateStore is the storage the catalogue needs. It is asserted on the
// sandbox's Store when used, so the catalogue adds no method that every
// Store must have.
type TemplateStore interface {
	ListSandboxTemplates(ctx context.Context) ([]store.SandboxTemplate, error)
	GetSandboxTemplate(ctx context.Context, name, language string) (store.SandboxTemplate, error)
	AddSandboxTemplates(ctx context.Context, ts []store.SandboxTemplate) error
	PutSandboxTemplate(ctx context.Context, t store.SandboxTemplate) (bool, error)
	UpdateSandboxTemplate(ctx context.Context, t store.SandboxTemplate) error
	DeleteSandboxTemplate(ctx context.Context, name, language string, now time.Time) error
	SandboxTemplatesVersion(ctx context.Context) (int64, error)
}

var (
	_ TemplateStore           = (*store.Store)(nil)
	_ network.TemplateChanges = (*Sandbox)(nil)
)

// templatesDocument keeps the namespace: {"namespace": "..."}.
const templatesDocument = "sandbox.templates"

// TemplatePatchKeys are the parts of a template UpdateTemplate changes: what
// WhatsApp Manager lets a business edit (the content) and what review
// decides (status, category).
var TemplatePatchKeys = []string{"status", "category", "components"}

// TemplatesVersion implements network.TemplateChanges with the store's
// change count, which every change raises in its own transaction.
func (s *Sandbox) TemplatesVersion(ctx context.Context) (int64, error) {
	ts, err := s.templateStore()
	if err != nil {
		return 0, err
	}
	return ts.SandboxTemplatesVersion(ctx)
}

// OnTemplatesChanged implements network.TemplateChanges.
func (s *Sandbox) OnTemplatesChanged(fn func(ctx context.Context)) {
	s.templateListeners.Lock()
	defer s.templateListeners.Unlock()
	s.templateListeners.fns = append(s.templateListeners.fns, fn)
}

// templatesChanged runs the listeners after a stored change, outside any
// of the sandbox's locks: they read the catalogue.
func (s *Sandbox) templatesChanged(ctx context.Context) {
	s.templateListeners.Lock()
	fns := slices.Clone(s.templateListeners.fns)
	s.templateListeners.Unlock()
	for _, fn := range fns {
		fn(ctx)
	}
}

func (s *Sandbox) templateStore() (TemplateStore, error) {
	ts, ok := s.store.(TemplateStore)
	if !ok {
		return nil, fmt.Errorf("sandbox: the store (%T) keeps no templates", s.store)
	}
	return ts, nil
}

// Namespace returns the sandbox's template namespace, made on first use: a
// random value shaped like WhatsApp's (8_4_4_4_12 hexadecimal digits), so
// clients that check or store namespaces see a plausible one. It never
// changes afterwards; every node reads the same one.
func (s *Sandbox) Namespace(ctx context.Context) (string, error) {
	for range 3 {
		doc, err := s.store.GetDocument(ctx, templatesDocument)
		if err == nil {
			var v struct {
				Namespace string `json:"namespace"`
			}
			if err := json.Unmarshal(doc.Body, &v); err != nil || v.Namespace == "" {
				return "", fmt.Errorf("sandbox: stored template namespace is corrupt: %s", doc.Body)
			}
			return v.Namespace, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		body, _ := json.Marshal(map[string]string{"namespace": newNamespace()})
		// A conflict means another node made one first: read theirs.
		if _, err := s.store.PutDocument(ctx, templatesDocument, body, 0, s.now()); err != nil && !errors.Is(err, store.ErrConflict) {
			return "", err
		}
	}
	return "", errors.New("sandbox: the template namespace could not be stored")
}

func newNamespace() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "_" + h[8:12] + "_" + h[12:16] + "_" + h[16:20] + "_" + h[20:]
}

// ListTemplates returns the catalogue by name, then language: every
// template whatever its status, since the core decides what a status means
// for a send. It is also what Templates hands the core.
func (s *Sandbox) ListTemplates(ctx context.Context) ([]network.Template, error) {
	ts, err := s.templateStore()
	if err != nil {
		return nil, err
	}
	ns, err := s.Namespace(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := ts.ListSandboxTemplates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]network.Template, 0, len(rows))
	for _, r := range rows {
		out = append(out, templateOf(ns, r))
	}
	return out, nil
}

// Template returns one translation; 1006 when there is none.
func (s *Sandbox) Template(ctx context.Context, name, language string) (network.Template, error) {
	ts, err := s.templateStore()
	if err != nil {
		return network.Template{}, err
	}
	ns, err := s.Namespace(ctx)
	if err != nil {
		return network.Template{}, err
	}
	r, err := ts.GetSandboxTemplate(ctx, name, language)
	if errors.Is(err, store.ErrNotFound) {
		return network.Template{}, unknownTemplate(name, language)
	}
	if err != nil {
		return network.Template{}, err
	}
	return templateOf(ns, r), nil
}

func templateOf(ns string, r store.SandboxTemplate) network.Template {
	return network.Template{Namespace: ns, Name: r.Name, Language: r.Language, Category: r.Category, Status: r.Status, Body: json.RawMessage(r.Body)}
}

func templateExists(name, language string) *apierr.Error {
	return apierr.Newf(1004, "Template %s (%s) already exists", name, language)
}

func unknownTemplate(name, language string) *apierr.Error {
	return apierr.Newf(1006, "Template %s (%s) not found", name, language)
}

// AddTemplate adds one definition in Meta's shape.
func (s *Sandbox) AddTemplate(ctx context.Context, def json.RawMessage) (network.Template, error) {
	out, err := s.AddTemplates(ctx, []json.RawMessage{def})
	if err != nil {
		return network.Template{}, err
	}
	return out[0], nil
}

// AddTemplates adds several definitions, all or none: any invalid one
// refuses the batch with every definition's errors (each prefixed with
// "templates[i]: " when there are several), and a name and language already
// in the catalogue, or twice in the batch, is 1004.
func (s *Sandbox) AddTemplates(ctx context.Context, defs []json.RawMessage) ([]network.Template, error) {
	ts, err := s.templateStore()
	if err != nil {
		return nil, err
	}
	ns, err := s.Namespace(ctx)
	if err != nil {
		return nil, err
	}
	parsed, err := parseAll(defs, ns)
	if err != nil {
		return nil, err
	}
	now := s.now()
	rows := make([]store.SandboxTemplate, 0, len(parsed))
	seen := map[[2]string]bool{}
	for _, d := range parsed {
		key := [2]string{d.Name, d.Language}
		if seen[key] {
			return nil, templateExists(d.Name, d.Language)
		}
		seen[key] = true
		rows = append(rows, rowOf(d, now))
	}
	var exists *store.TemplateExistsError
	err = ts.AddSandboxTemplates(ctx, rows)
	if errors.As(err, &exists) {
		return nil, templateExists(exists.Name, exists.Language)
	}
	if err != nil {
		return nil, err
	}
	s.templatesChanged(ctx)
	out := make([]network.Template, 0, len(rows))
	for _, r := range rows {
		out = append(out, templateOf(ns, r))
	}
	return out, nil
}

// parseAll validates every definition and gathers all their errors.
func parseAll(defs []json.RawMessage, ns string) ([]template.Definition, error) {
	var errs apierr.List
	out := make([]template.Definition, 0, len(defs))
	for i, raw := range defs {
		d, perr := template.ParseDefinition(raw, ns)
		if perr != nil {
			for _, detail := range perr.Details {
				if len(defs) > 1 {
					detail.Details = fmt.Sprintf("templates[%d]: %s", i, detail.Details)
				}
				errs.Add(detail.Code, detail.Details)
			}
			continue
		}
		out = append(out, d)
	}
	if e := errs.Err(); e != nil {
		return nil, e
	}
	return out, nil
}

func rowOf(d template.Definition, now time.Time) store.SandboxTemplate {
	return store.SandboxTemplate{Name: d.Name, Language: d.Language, Category: d.Category, Status: d.Status, Body: []byte(d.Raw),
		CreatedAt: now, UpdatedAt: now}
}

// UpdateTemplate changes parts of a stored template: patch holds any of
// TemplatePatchKeys with values in Meta's shape (other keys are ignored).
// The result is validated whole, as a new definition would be.
func (s *Sandbox) UpdateTemplate(ctx context.Context, name, language string, patch map[string]json.RawMessage) (network.Template, error) {
	t, err := s.updateTemplate(ctx, name, language, patch)
	if err != nil {
		return network.Template{}, err
	}
	s.templatesChanged(ctx)
	return t, nil
}

func (s *Sandbox) updateTemplate(ctx context.Context, name, language string, patch map[string]json.RawMessage) (network.Template, error) {
	ts, err := s.templateStore()
	if err != nil {
		return network.Template{}, err
	}
	ns, err := s.Namespace(ctx)
	if err != nil {
		return network.Template{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := ts.GetSandboxTemplate(ctx, name, language)
	if errors.Is(err, store.ErrNotFound) {
		return network.Template{}, unknownTemplate(name, language)
	}
	if err != nil {
		return network.Template{}, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(cur.Body, &fields); err != nil {
		return network.Template{}, fmt.Errorf("sandbox: stored template %s (%s) is corrupt: %w", name, language, err)
	}
	for _, k := range TemplatePatchKeys {
		if v, ok := patch[k]; ok {
			fields[k] = v
		}
	}
	merged, _ := json.Marshal(fields)
	d, perr := template.ParseDefinition(merged, ns)
	if perr != nil {
		return network.Template{}, perr
	}
	row := store.SandboxTemplate{Name: cur.Name, Language: cur.Language, Category: d.Category, Status: d.Status, Body: []byte(d.Raw),
		CreatedAt: cur.CreatedAt, UpdatedAt: s.now()}
	err = ts.UpdateSandboxTemplate(ctx, row)
	if errors.Is(err, store.ErrNotFound) {
		return network.Template{}, unknownTemplate(name, language)
	}
	if err != nil {
		return network.Template{}, err
	}
	return templateOf(ns, row), nil
}

// DeleteTemplate removes one translation; 1006 when there is none.
func (s *Sandbox) DeleteTemplate(ctx context.Context, name, language string) error {
	ts, err := s.templateStore()
	if err != nil {
		return err
	}
	err = ts.DeleteSandboxTemplate(ctx, name, language, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return unknownTemplate(name, language)
	}
	if err != nil {
		return err
	}
	s.templatesChanged(ctx)
	return nil
}

// SeedTemplates adds or replaces each definition (a restart with an edited
// file updates the catalogue; templates not in the file stay). Every
// definition is checked before any is stored, and an error names the
// template by position and, when it has them, name and language.
func (s *Sandbox) SeedTemplates(ctx context.Context, defs []json.RawMessage) (added, replaced int, err error) {
	ts, err := s.templateStore()
	if err != nil {
		return 0, 0, err
	}
	ns, err := s.Namespace(ctx)
	if err != nil {
		return 0, 0, err
	}
	parsed := make([]template.Definition, 0, len(defs))
	seen := map[[2]string]int{}
	for i, raw := range defs {
		d, perr := template.ParseDefinition(raw, ns)
		if perr != nil {
			return 0, 0, fmt.Errorf("template %d%s: %s", i+1, describe(raw), errorText(perr))
		}
		key := [2]string{d.Name, d.Language}
		if first, ok := seen[key]; ok {
			return 0, 0, fmt.Errorf("template %d (%s, %s): the same name and language as template %d", i+1, d.Name, d.Language, first)
		}
		seen[key] = i + 1
		parsed = append(parsed, d)
	}
	now := s.now()
	defer func() {
		if added+replaced > 0 {
			s.templatesChanged(ctx)
		}
	}()
	for _, d := range parsed {
		row := rowOf(d, now)
		created, err := ts.PutSandboxTemplate(ctx, row)
		if err != nil {
			return added, replaced, fmt.Errorf("template %s (%s): %w", d.Name, d.Language, err)
		}
		if created {
			added++
		} else {
			replaced++
		}
	}
	return added, replaced, nil
}

// describe names a definition that failed validation as well as it can.
func describe(raw json.RawMessage) string {
	var v struct {
		Name     any `json:"name"`
		Language any `json:"language"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	name, _ := v.Name.(string)
	lang, _ := v.Language.(string)
	switch {
	case name != "" && lang != "":
		return fmt.Sprintf(" (%s, %s)", name, lang)
	case name != "":
		return fmt.Sprintf(" (%s)", name)
	}
	return ""
}

// errorText is every detail of an API error, for a log line.
func errorText(e *apierr.Error) string {
	parts := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		text := d.Details
		if text == "" {
			text = d.Title
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", text, d.Code))
	}
	return strings.Join(parts, "; ")
}

// DecodeTemplateFile reads the definitions of a template file or request:
// a JSON array of definitions, an object {"templates": [...]}, or a single
// definition object.
func DecodeTemplateFile(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) // editors on Windows add a BOM
	if len(data) == 0 {
		return nil, errors.New("the file is empty")
	}
	var defs []json.RawMessage
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &defs); err != nil {
			return nil, fmt.Errorf("not a JSON array of template definitions: %w", err)
		}
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		list, ok := obj["templates"]
		if !ok {
			return []json.RawMessage{json.RawMessage(data)}, nil
		}
		if err := json.Unmarshal(list, &defs); err != nil || defs == nil {
			return nil, errors.New(`"templates" must be an array of template definitions`)
		}
	default:
		return nil, errors.New("not JSON: expected an array of template definitions or an object")
	}
	return defs, nil
}

// ReadTemplateFile reads and decodes a template file.
func ReadTemplateFile(path string) ([]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeTemplateFile(data)
}
