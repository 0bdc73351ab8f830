package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/template"
)

// MediaVolume is what the core needs of the media volume.
type MediaVolume interface {
	CheckStored(ctx context.Context, kind, id string) (store.Media, *apierr.Error, error)
	Open(ctx context.Context, id string) (store.Media, io.ReadSeekCloser, error)
	SaveLink(ctx context.Context, rawURL string, auth *media.ProviderAuth) (store.Media, error)
	Provider(ctx context.Context, name string) (media.Provider, error)
	CreatePending(ctx context.Context, kind, mimeType, networkID, filename string) (store.Media, error)
	Complete(ctx context.Context, id string, r io.Reader, mimeType, filename string) (store.Media, error)
	Get(ctx context.Context, id string) (store.Media, error)
}

// checkMediaAtAccept verifies, before a media message is accepted, what can
// be known without a network call: an uploaded file exists and suits the
// kind; a named provider exists.
func (c *Core) checkMediaAtAccept(ctx context.Context, out *message.Outbound) error {
	ref, ok := out.MediaRef()
	if !ok || c.media == nil {
		return nil
	}
	if ref.ID != "" {
		_, apiErr, err := c.media.CheckStored(ctx, ref.Kind, ref.ID)
		if errors.Is(err, media.ErrNotFound) || errors.Is(err, media.ErrPending) {
			return apierr.Newf(1006, "Media with id %s not found", ref.ID)
		}
		if err != nil {
			return err
		}
		if apiErr != nil {
			return apiErr
		}
		return nil
	}
	if ref.ProviderName != "" {
		if _, err := c.media.Provider(ctx, ref.ProviderName); errors.Is(err, media.ErrProviderNotFound) {
			return apierr.Newf(1009, "Parameter 'provider.name' has invalid value '%s': no media provider has that name", ref.ProviderName)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// prepared is what the worker hands the network besides the stored body:
// the resolved file and, for a template, its hydrated text.
type prepared struct {
	media    *network.OutgoingMedia
	template *template.Rendered
}

// sendPlan is what the accept decided the worker needs besides the stored
// body (the outbox's send_plan), so the worker does not decode the body
// again: the file the message carries, and whether it is a template. A
// template is hydrated again when it is sent: that is the check that a
// template paused, edited or removed since the accept fails the message,
// and its text is the catalogue's at that moment.
type sendPlan struct {
	Media    *plannedMedia `json:"media,omitempty"`
	Template bool          `json:"template,omitempty"`
}

// plannedMedia is the part of a media reference the worker resolves.
type plannedMedia struct {
	Kind     string `json:"kind"`
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Provider string `json:"provider,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// plainPlan is the plan of a message with neither file nor template (most
// sends): written as is, never marshalled.
var plainPlan = []byte(`{}`)

// planOf is the send plan of an accepted message.
func planOf(out *message.Outbound) ([]byte, error) {
	ref, hasMedia := out.MediaRef()
	if !hasMedia && out.Template == nil {
		return plainPlan, nil
	}
	p := sendPlan{Template: out.Template != nil}
	if hasMedia {
		p.Media = &plannedMedia{Kind: ref.Kind, ID: ref.ID, Link: ref.Link, Provider: ref.ProviderName, Filename: ref.Filename}
	}
	return json.Marshal(p)
}

// prepare resolves what a stored message needs from now: the template as
// the catalogue has it at this moment (a template paused since the message
// was accepted fails it), and the file it carries: the uploaded one, or the
// link downloaded now onto the volume. A failure is the message's
// asynchronous error. A message accepted before the outbox kept send plans
// is decoded again.
func (c *Core) prepare(ctx context.Context, m store.OutboxMessage) (prepared, *asyncError, error) {
	if m.Plan == nil {
		return c.prepareDecoded(ctx, m)
	}
	if bytes.Equal(m.Plan, plainPlan) {
		return prepared{}, nil, nil
	}
	var plan sendPlan
	if err := json.Unmarshal(m.Plan, &plan); err != nil {
		return prepared{}, nil, fmt.Errorf("core: send plan of %s is corrupt: %w", m.ID, err)
	}
	var ref *message.Media
	if pm := plan.Media; pm != nil {
		ref = &message.Media{Kind: pm.Kind, ID: pm.ID, Link: pm.Link, ProviderName: pm.Provider, Filename: pm.Filename}
	}
	var tmpl json.RawMessage
	if plan.Template {
		var params map[string]json.RawMessage
		if err := json.Unmarshal(m.Body, &params); err != nil {
			return prepared{}, nil, err
		}
		tmpl = params[m.Type]
	}
	return c.resolvePlan(ctx, m.Type, tmpl, ref)
}

// prepareDecoded is prepare for a message without a send plan: the body is
// decoded again to find the template and the file.
func (c *Core) prepareDecoded(ctx context.Context, m store.OutboxMessage) (prepared, *asyncError, error) {
	var params map[string]json.RawMessage
	if err := json.Unmarshal(m.Body, &params); err != nil {
		return prepared{}, nil, err
	}
	out, apiErr := message.Decode(params)
	if apiErr != nil {
		return prepared{}, asyncFrom(apiErr), nil
	}
	ref, _ := out.MediaRef()
	return c.resolvePlan(ctx, out.Type, out.Template, ref)
}

// resolvePlan hydrates the template object tmpl (nil: not a template) against
// the catalogue in force and finds the file of ref or of the template's
// header. A template the catalogue lacks was accepted by a node that had
// loaded it: it is looked for again as at accept (hydrate).
func (c *Core) resolvePlan(ctx context.Context, msgType string, tmpl json.RawMessage, ref *message.Media) (prepared, *asyncError, error) {
	var p prepared
	if tmpl != nil {
		rendered, apiErr := c.hydrate(ctx, msgType, tmpl)
		if apiErr != nil {
			return prepared{}, asyncFrom(apiErr), nil
		}
		p.template = rendered
		if rendered.Header != nil && rendered.Header.Media != nil {
			ref = rendered.Header.Media
		}
	}
	if ref == nil || c.media == nil {
		return p, nil, nil
	}
	file, failure, err := c.resolveMedia(ctx, ref)
	p.media = file
	return p, failure, err
}

func asyncFrom(e *apierr.Error) *asyncError {
	return &asyncError{Code: e.Code(), Details: e.Details[len(e.Details)-1].Details}
}

// resolveMedia finds a media reference's file: the uploaded one, or the link
// downloaded now onto the volume.
func (c *Core) resolveMedia(ctx context.Context, ref *message.Media) (*network.OutgoingMedia, *asyncError, error) {
	id := ref.ID
	if id == "" {
		var auth *media.ProviderAuth
		if ref.ProviderName != "" {
			p, err := c.media.Provider(ctx, ref.ProviderName)
			if errors.Is(err, media.ErrProviderNotFound) {
				return nil, &asyncError{Code: 400, Details: "No media provider is named " + ref.ProviderName}, nil
			}
			if err != nil {
				return nil, nil, err
			}
			auth = &p.Config
		}
		saved, err := c.media.SaveLink(ctx, ref.Link, auth)
		var fe *media.FetchError
		if errors.As(err, &fe) {
			return nil, &asyncError{Code: 400, Details: fe.Error()}, nil
		}
		if err != nil {
			return nil, nil, err
		}
		id = saved.ID
	}
	stored, kindErr, err := c.media.CheckStored(ctx, ref.Kind, id)
	if errors.Is(err, media.ErrNotFound) || errors.Is(err, media.ErrPending) {
		return nil, &asyncError{Code: 400, Details: "Media with id " + id + " is gone from the media volume"}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if kindErr != nil {
		return nil, asyncFrom(kindErr), nil
	}
	vol := c.media
	filename := ref.Filename
	if filename == "" {
		filename = stored.Filename
	}
	return &network.OutgoingMedia{
		ID: stored.ID, Kind: ref.Kind, MimeType: stored.MimeType, Size: stored.Size, SHA256: stored.SHA256, Filename: filename,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			_, r, err := vol.Open(ctx, stored.ID)
			return r, err
		},
	}, nil, nil
}

// inboundMedia registers a file a user sent (once per network id, so a
// repeated event reuses it), downloads it when media.auto_download names its
// kind, and puts our media id into the message's media object. It reports
// whether that automatic download failed.
func (c *Core) inboundMedia(ctx context.Context, in *network.InboundMessage) (json.RawMessage, bool, error) {
	ref := in.Media
	rec, err := c.store.GetMediaByNetworkID(ctx, ref.NetworkID)
	if errors.Is(err, store.ErrNotFound) {
		rec, err = c.media.CreatePending(ctx, ref.Kind, ref.MimeType, ref.NetworkID, ref.Filename)
	}
	if err != nil {
		return nil, false, err
	}
	failed := false
	if rec.Status != store.MediaStatusStored && slices.Contains(c.settings.Current().Media.AutoDownload, ref.Kind) {
		if rec, err = c.download(ctx, rec); err != nil {
			// The message still reaches the webhook, with an errors
			// callback beside it; the file can be fetched later with
			// GET /v1/media/{id}/download.
			c.log.Warn("inbound media download failed; an errors callback is queued with the message", "media_id", rec.ID, "message_id", in.ID, "err", err)
			failed = true
		}
	}
	content, err := withMediaID(in.Content, in.Type, rec.ID, ref)
	return content, failed, err
}

// mediaDownloadFailure is the errors callback of a failed automatic
// download: the reference's own sample (runtime §1.6).
var mediaDownloadFailure = asyncError{Code: 1014, Details: "Could not download media"}

// download fetches a pending inbound file from the network onto the volume.
func (c *Core) download(ctx context.Context, rec store.Media) (store.Media, error) {
	r, mime, err := c.net.DownloadMedia(ctx, rec.NetworkID)
	if err != nil {
		return rec, err
	}
	defer r.Close()
	if mime == "" {
		mime = rec.MimeType
	}
	return c.media.Complete(ctx, rec.ID, r, mime, rec.Filename)
}

// DownloadMedia is GET /v1/media/{id}/download: fetch an inbound file that
// was not downloaded automatically. The result is reported on the webhook
// as media_items, as the original client did.
func (c *Core) DownloadMedia(ctx context.Context, id string) error {
	if c.media == nil {
		return apierr.New(1006, "File with id "+id+" not found")
	}
	rec, err := c.media.Get(ctx, id)
	if errors.Is(err, media.ErrNotFound) || err == nil && rec.Origin != store.MediaOriginInbound {
		return apierr.Newf(1006, "File with id %s not found", id)
	}
	if err != nil && !errors.Is(err, media.ErrPending) {
		return err
	}
	status := "downloaded"
	item := map[string]any{"id": rec.ID, "mime_type": rec.MimeType}
	if rec.Status != store.MediaStatusStored {
		if rec, err = c.download(ctx, rec); err != nil {
			status = "failed"
			item["errors"] = []asyncError{{Code: 400, Title: titleOf(400), Details: err.Error()}}
		}
	}
	if rec.SHA256 != "" {
		item["sha256"] = rec.SHA256
	}
	item["status"] = status
	payload, err := json.Marshal(map[string]any{"media_items": []map[string]any{{"type": rec.Kind, rec.Kind: item}}})
	if err != nil {
		return err
	}
	return c.enqueue(ctx, "media_items", payload)
}

// withMediaID rewrites the message's media object to lead with our id,
// then the type, checksum and the rest (caption, filename), as On-Premises
// media objects are laid out.
func withMediaID(content json.RawMessage, msgType, id string, ref *network.InboundMedia) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(content, &fields); err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if raw, ok := fields[msgType]; ok {
		json.Unmarshal(raw, &obj)
	}
	var b strings.Builder
	b.WriteString(`{"id":` + quoteJSON(id) + `,"mime_type":` + quoteJSON(ref.MimeType) + `,"sha256":` + quoteJSON(ref.SHA256))
	for _, k := range slices.Sorted(mapKeys(obj)) {
		if k == "id" || k == "mime_type" || k == "sha256" {
			continue
		}
		b.WriteString("," + quoteJSON(k) + ":" + string(obj[k]))
	}
	b.WriteString("}")
	fields[msgType] = json.RawMessage(b.String())
	// Keep the type's object where the webhook puts it: the content keys are
	// re-marshalled in sorted order, which is stable.
	return json.Marshal(fields)
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func mapKeys(m map[string]json.RawMessage) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
