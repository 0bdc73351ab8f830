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
	body, err := n.translate(ctx, msg)
	if err != nil {
		return err
	}
	if err := n.limiter.Take(ctx); err != nil {
		return err
	}
	if _, err := n.store.BeginCloudSend(ctx, msg.ID, n.now()); err != nil {
		return err
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
		return n.store.FinishCloudSend(ctx, msg.ID, store.CloudSent, answer.Messages[0].ID, "", now)
	case callErr == nil:
		callErr = errors.New("the Cloud API answered without a message id")
	case errors.As(callErr, &ge) && ge.HTTPStatus < 500, !wrote:
		if err := n.store.FinishCloudSend(context.WithoutCancel(ctx), msg.ID, store.CloudRefused, "", callErr.Error(), now); err != nil {
			return err
		}
		return mapCallError(callErr)
	}
	if err := n.store.FinishCloudSend(context.WithoutCancel(ctx), msg.ID, store.CloudUnknown, "", callErr.Error(), now); err != nil {
		return err
	}
	if errors.Is(callErr, context.Canceled) {
		return callErr
	}
	ne := mapCallError(callErr).(*network.Error)
	ne.Temporary = true // the message may have been sent: never fail it for good
	return ne
}

// translate builds the Cloud send body from our canonical body.
func (n *Network) translate(ctx context.Context, msg network.Outgoing) (map[string]any, error) {
	var upload func() (string, error)
	if msg.Media != nil && msg.Media.Open != nil {
		upload = func() (string, error) { return n.uploadMedia(ctx, msg.Media) }
	}
	return translateBody(msg, func(id string) string { return n.wamidFor(ctx, id) }, upload)
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
		cloudID, err := upload()
		if err != nil {
			return nil, err
		}
		replaceMediaID(obj, msg.Media.ID, cloudID)
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

// replaceMediaID swaps our media id for the Cloud's wherever an object
// names it as "id" (a media message, an interactive or template header).
func replaceMediaID(v any, ours, cloud string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "id" && s == ours {
				x[k] = cloud
				continue
			}
			replaceMediaID(val, ours, cloud)
		}
	case []any:
		for _, val := range x {
			replaceMediaID(val, ours, cloud)
		}
	}
}

// uploadMedia puts one of our files on the Cloud (media ids are not
// portable between the APIs). A new upload per send: Cloud media ids
// expire after 30 days, and a cache is left for later.
func (n *Network) uploadMedia(ctx context.Context, m *network.OutgoingMedia) (string, error) {
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
		return "", mapCallError(err)
	}
	return answer.ID, nil
}
