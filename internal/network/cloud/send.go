package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptrace"
	"strings"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// Send implements network.Network.
//
// Idempotency: every attempt is recorded (cloud_messages) before the call,
// and the message carries our id as biz_opaque_callback_data, which the
// Cloud echoes in its status webhooks. Then:
//   - a message already sent (a wamid is known, from the answer or from a
//     status webhook) is not sent again: Send returns nil;
//   - a call refused by the Cloud (a 4xx Graph error) or that failed before
//     the request was written sent nothing and may be retried at once;
//   - a call whose outcome is unknown (no answer after the request was
//     written, a timeout, a 5xx) is marked "unknown" and answered with a
//     temporary 1014. Retries within AmbiguousHold are refused again
//     (temporary) without calling the Cloud, waiting for a status webhook
//     to prove the send; when none came within the hold, the message is
//     sent again, logged as a possible duplicate. That is the honest
//     limit: the Cloud API has no way to look a message up by our id.
func (n *Network) Send(ctx context.Context, msg network.Outgoing) error {
	cur, err := n.store.GetCloudMessage(ctx, msg.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil {
		switch cur.State {
		case store.CloudSent:
			return nil
		case store.CloudUnknown, store.CloudSending:
			if wait := n.opt.AmbiguousHold - n.now().Sub(cur.UpdatedAt); wait > 0 {
				return &network.Error{Code: 1014, Temporary: true,
					Details: fmt.Sprintf("the outcome of send attempt %d is unknown; waiting up to %s for the Cloud API to report it before sending again", cur.Attempts, wait.Round(1e9))}
			}
			n.log.Warn("sending again after an attempt of unknown outcome: the recipient may get the message twice", "id", msg.ID, "attempts", cur.Attempts)
		}
	}
	stale, err := n.attempt(ctx, msg, false)
	if stale == nil {
		return err
	}
	// The Cloud refused a media id taken from the cache (expired or deleted
	// early): nothing was sent, so upload the file again and send once more.
	n.log.Info("the Cloud refused a cached media id; uploading the file again", "media", msg.Media.ID, "cloud_media", stale.CloudID)
	if err := n.store.DeleteCloudMedia(context.WithoutCancel(ctx), stale.MediaID, stale.CloudID); err != nil {
		return err
	}
	_, err = n.attempt(ctx, msg, true)
	return err
}

// attempt makes one send call. fresh uploads the message's file even when
// the cache has it. When the Cloud refused a call whose body carried a
// cached media id, the entry is returned so Send can retry with a new upload.
func (n *Network) attempt(ctx context.Context, msg network.Outgoing, fresh bool) (*store.CloudMedia, error) {
	body, used, err := n.translate(ctx, msg, fresh)
	if err != nil {
		return nil, err
	}
	if err := n.limiter.Take(ctx); err != nil {
		return nil, err
	}
	if _, err := n.store.BeginCloudSend(ctx, msg.ID, n.now()); err != nil {
		return nil, err
	}
	var wrote bool
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote = true }}
	var answer struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	callErr := n.call(httptrace.WithClientTrace(ctx, trace), http.MethodPost, n.opt.PhoneNumberID+"/messages", body, &answer)
	now := n.now()
	var ge *GraphError
	switch {
	case callErr == nil && len(answer.Messages) > 0 && answer.Messages[0].ID != "":
		return nil, n.store.FinishCloudSend(ctx, msg.ID, store.CloudSent, answer.Messages[0].ID, "", now)
	case callErr == nil:
		callErr = errors.New("the Cloud API answered without a message id")
	case errors.As(callErr, &ge) && ge.HTTPStatus < 500, !wrote:
		if err := n.store.FinishCloudSend(context.WithoutCancel(ctx), msg.ID, store.CloudRefused, "", callErr.Error(), now); err != nil {
			return nil, err
		}
		if ge != nil && mapGraphError(ge).Code == 1015 {
			n.log.Warn("the Cloud API is throttling sends; the message is tried again later", "id", msg.ID, "code", ge.Code, "http_status", ge.HTTPStatus)
		}
		if ge != nil && used != nil && used.cached && refusesMedia(ge, used.entry.CloudID) {
			return &used.entry, mapCallError(callErr)
		}
		return nil, mapCallError(callErr)
	}
	if err := n.store.FinishCloudSend(context.WithoutCancel(ctx), msg.ID, store.CloudUnknown, "", callErr.Error(), now); err != nil {
		return nil, err
	}
	if errors.Is(callErr, context.Canceled) {
		return nil, callErr
	}
	n.log.Warn("the outcome of a send is unknown (no answer, a timeout or a Cloud error after the request went out); it is not sent again before a status proves it or the hold passes",
		"id", msg.ID, "hold", n.opt.AmbiguousHold, "err", callErr)
	ne := mapCallError(callErr).(*network.Error)
	ne.Temporary = true // the message may have been sent: never fail it for good
	return nil, ne
}

// refusesMedia says whether a refused send names a bad media id: an
// invalid parameter (100, 131009) or a media error (131053) whose text
// mentions media or the id sent.
func refusesMedia(ge *GraphError, cloudID string) bool {
	switch ge.Code {
	case 100, 131009, 131053:
	default:
		return false
	}
	text := strings.ToLower(ge.Message + " " + ge.ErrorData.Details)
	return strings.Contains(text, "media") || strings.Contains(text, strings.ToLower(cloudID))
}

// translate builds the Cloud send body from our canonical body. used
// tells which Cloud media id the body carries (nil when none of ours).
func (n *Network) translate(ctx context.Context, msg network.Outgoing, fresh bool) (map[string]any, *mediaUse, error) {
	var (
		upload func() (string, error)
		used   *mediaUse
	)
	if msg.Media != nil && msg.Media.Open != nil {
		upload = func() (string, error) {
			u, err := n.cloudMedia(ctx, msg.Media, fresh)
			if err != nil {
				return "", err
			}
			used = &u
			return u.entry.CloudID, nil
		}
	}
	body, err := translateBody(msg, func(id string) string { return n.wamidFor(ctx, id) }, upload)
	return body, used, err
}

// wamidFor maps an id a client gave (a reply's context, a reaction) to
// the Cloud's: our own outbound ids through the map; anything else
// (inbound ids, which are wamids already) as is.
func (n *Network) wamidFor(ctx context.Context, id string) string {
	if m, err := n.store.GetCloudMessage(ctx, id); err == nil && m.WAMID != "" {
		return m.WAMID
	}
	return id
}

func invalid(format string, args ...any) error {
	return &network.Error{Code: 1009, Details: fmt.Sprintf(format, args...)}
}

// translateBody is the pure part of the translation. wamid maps message
// ids; upload (nil when the message carries no file of ours) puts the
// file on the Cloud and returns its media id.
func translateBody(msg network.Outgoing, wamid func(string) string, upload func() (string, error)) (map[string]any, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(msg.Body, &in); err != nil {
		return nil, invalid("message body is not a JSON object: %v", err)
	}
	typ := msg.Type
	if typ == "" {
		json.Unmarshal(in["type"], &typ)
	}
	to := msg.To
	if to == "" {
		json.Unmarshal(in["to"], &to)
	}
	recipientType := "individual"
	json.Unmarshal(in["recipient_type"], &recipientType)
	out := map[string]any{
		"messaging_product":        "whatsapp",
		"recipient_type":           recipientType,
		"to":                       to,
		"biz_opaque_callback_data": msg.ID,
	}
	if raw, ok := in["context"]; ok {
		var c struct {
			MessageID string `json:"message_id"`
		}
		if json.Unmarshal(raw, &c) == nil && c.MessageID != "" {
			out["context"] = map[string]any{"message_id": wamid(c.MessageID)}
		}
	}
	var obj any
	if raw, ok := in[typ]; ok {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, invalid("%s object: %v", typ, err)
		}
	} else {
		return nil, invalid("message has no %s object", typ)
	}
	if upload != nil && msg.Media != nil {
		if err := rewriteMedia(obj, msg.Media.ID, once(upload)); err != nil {
			return nil, err
		}
	}
	switch typ {
	case "text":
		m, _ := obj.(map[string]any)
		var preview bool
		json.Unmarshal(in["preview_url"], &preview)
		if preview && m != nil {
			m["preview_url"] = true
		}
	case "reaction":
		if m, ok := obj.(map[string]any); ok {
			if id, ok := m["message_id"].(string); ok {
				m["message_id"] = wamid(id)
			}
		}
	case "template":
		m, ok := obj.(map[string]any)
		if !ok {
			return nil, invalid("template object is not an object")
		}
		delete(m, "namespace")
		if lang, ok := m["language"].(map[string]any); ok {
			delete(lang, "policy")
		}
	case "hsm":
		t, err := hsmTemplate(obj)
		if err != nil {
			return nil, err
		}
		typ, obj = "template", t
	}
	out["type"] = typ
	out[typ] = obj
	return out, nil
}

// hsmTemplate turns a legacy hsm object (element_name, language,
// localizable_params) into a Cloud template with one body component whose
// text parameters are the params' "default" values: the Cloud has no
// localizable currency/date_time rendering, so the fallback text is what
// the user sees, as On-Premises showed it when localisation failed.
func hsmTemplate(obj any) (map[string]any, error) {
	m, ok := obj.(map[string]any)
	if !ok {
		return nil, invalid("hsm object is not an object")
	}
	name, _ := m["element_name"].(string)
	code := ""
	if lang, ok := m["language"].(map[string]any); ok {
		code, _ = lang["code"].(string)
	}
	t := map[string]any{"name": name, "language": map[string]any{"code": code}}
	params, _ := m["localizable_params"].([]any)
	if len(params) > 0 {
		list := make([]any, 0, len(params))
		for i, p := range params {
			pm, _ := p.(map[string]any)
			text, ok := pm["default"].(string)
			if !ok {
				return nil, invalid("hsm.localizable_params[%d] has no default text", i)
			}
			list = append(list, map[string]any{"type": "text", "text": text})
		}
		t["components"] = []any{map[string]any{"type": "body", "parameters": list}}
	}
	return t, nil
}

// once memoises upload: a body naming our file twice uploads it once.
func once(upload func() (string, error)) func() (string, error) {
	var (
		id   string
		err  error
		done bool
	)
	return func() (string, error) {
		if !done {
			id, err = upload()
			done = true
		}
		return id, err
	}
}

// rewriteMedia puts the Cloud's media id wherever an object (a media
// message, an interactive header, a template header parameter) names our
// file: by our id (case-insensitively, as media ids are), or by a link
// fetched with a media provider's credentials, which the Cloud could not
// fetch and which the core already resolved to our file (the provider key
// is ours, unknown to the Cloud). A plain link stays a link: the Cloud
// fetches it itself, and no upload is made. upload is called only when a
// rewrite is needed.
func rewriteMedia(v any, ours string, upload func() (string, error)) error {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["id"].(string); ok && strings.EqualFold(s, ours) {
			cloud, err := upload()
			if err != nil {
				return err
			}
			x["id"] = cloud
		} else if _, viaProvider := x["provider"]; viaProvider {
			if _, ok := x["link"].(string); ok {
				cloud, err := upload()
				if err != nil {
					return err
				}
				delete(x, "link")
				delete(x, "provider")
				x["id"] = cloud
			}
		}
		for _, val := range x {
			if err := rewriteMedia(val, ours, upload); err != nil {
				return err
			}
		}
	case []any:
		for _, val := range x {
			if err := rewriteMedia(val, ours, upload); err != nil {
				return err
			}
		}
	}
	return nil
}

// mediaUse is the Cloud media id a send carries and whether it came from
// the cache (a refusal of a cached id is worth one new upload).
type mediaUse struct {
	entry  store.CloudMedia
	cached bool
}

// cloudMedia returns the Cloud media id of one of our files: the cached one
// while it is younger than MediaTTL and the file is the one uploaded, else
// a new upload, recorded for the next sends. fresh skips the cache.
func (n *Network) cloudMedia(ctx context.Context, m *network.OutgoingMedia, fresh bool) (mediaUse, error) {
	if !fresh {
		c, err := n.store.GetCloudMedia(ctx, m.ID)
		switch {
		case err == nil && n.now().Sub(c.UploadedAt) < n.opt.MediaTTL && (c.SHA256 == "" || m.SHA256 == "" || strings.EqualFold(c.SHA256, m.SHA256)):
			return mediaUse{entry: c, cached: true}, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return mediaUse{}, err
		}
	}
	id, err := n.uploadMedia(ctx, m)
	if err != nil {
		return mediaUse{}, err
	}
	c := store.CloudMedia{MediaID: m.ID, CloudID: id, SHA256: m.SHA256, UploadedAt: n.now()}
	if err := n.store.PutCloudMedia(context.WithoutCancel(ctx), c); err != nil {
		// The upload is good for this send; the next one uploads again.
		n.log.Warn("could not record a Cloud media id", "media", m.ID, "cloud_media", id, "err", err)
	}
	return mediaUse{entry: c}, nil
}

// uploadMedia puts one of our files on the Cloud (media ids are not
// portable between the APIs): POST /{phone-number-id}/media.
func (n *Network) uploadMedia(ctx context.Context, m *network.OutgoingMedia) (string, error) {
	id, err := n.postMedia(ctx, m)
	if err != nil {
		return "", mapCallError(err)
	}
	return id, nil
}

// postMedia is uploadMedia with the Graph's own error.
func (n *Network) postMedia(ctx context.Context, m *network.OutgoingMedia) (string, error) {
	r, err := m.Open(ctx)
	if err != nil {
		return "", err
	}
	defer r.Close()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("messaging_product", "whatsapp")
	w.WriteField("type", m.MimeType)
	name := m.Filename
	if name == "" {
		name = m.ID
	}
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(fw, r); err != nil {
		return "", err
	}
	w.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.opt.GraphURL+"/"+n.opt.PhoneNumberID+"/media", &buf)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+n.opt.AccessToken)
	req.Header.Set("Content-Type", w.FormDataContentType())
	var answer struct {
		ID string `json:"id"`
	}
	if err := n.do(req, &answer); err != nil {
		return "", err
	}
	if answer.ID == "" {
		return "", &network.Error{Code: 1014, Temporary: true, Details: "the Cloud API answered a media upload without a media id"}
	}
	return answer.ID, nil
}
