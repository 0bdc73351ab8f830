package cloud

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/wabiz/wabiz/internal/network"
)

// Inbound message translation, Cloud -> On-Premises (spec §1.4, §10.3):
//
//	unsupported (and types On-Premises never had) -> unknown (the core adds error 501)
//	audio with "voice": true                      -> voice
//	image/audio/video/document/sticker            -> same type, InboundMedia{NetworkID: Cloud media id}
//	system user_changed_number                    -> EventNumberChange
//	system customer_identity_changed              -> EventIdentity
//	context.id (our wamid)                        -> our gB id when it is one of ours
//	text, location, contacts, interactive, button, reaction, order -> as they are
var mediaKinds = map[string]bool{"image": true, "audio": true, "voice": true, "video": true, "document": true, "sticker": true}

var passThrough = map[string]bool{"text": true, "location": true, "contacts": true, "interactive": true, "button": true, "reaction": true, "order": true}

func (n *Network) translateMessage(ctx context.Context, sm storedMessage) (network.Event, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(sm.Message, &m); err != nil {
		return network.Event{}, err
	}
	var from, id, ts, typ string
	json.Unmarshal(m["from"], &from)
	json.Unmarshal(m["id"], &id)
	json.Unmarshal(m["timestamp"], &ts)
	json.Unmarshal(m["type"], &typ)
	ev := network.Event{Time: unixString(ts, time.Time{})}

	if typ == "system" {
		var sys struct {
			Type     string `json:"type"`
			WaID     string `json:"wa_id"`
			NewWaID  string `json:"new_wa_id"`
			Customer string `json:"customer"`
			Identity string `json:"identity"`
		}
		json.Unmarshal(m["system"], &sys)
		switch sys.Type {
		case "user_changed_number", "customer_changed_number":
			to := sys.WaID
			if to == "" {
				to = sys.NewWaID
			}
			ev.Kind, ev.Change = network.EventNumberChange, &network.NumberChange{ID: id, OldWaID: from, NewWaID: to}
			return ev, nil
		case "customer_identity_changed", "user_identity_changed":
			who := sys.Customer
			if who == "" {
				who = from
			}
			ev.Kind, ev.Identity = network.EventIdentity, &network.IdentityChange{ID: id, WaID: who, Hash: sys.Identity}
			return ev, nil
		}
	}

	content := map[string]any{}
	in := &network.InboundMessage{ID: id, From: from, ProfileName: sm.ProfileName, Type: typ}
	var obj map[string]any
	json.Unmarshal(m[typ], &obj)
	switch {
	case mediaKinds[typ] && !hasMediaID(obj):
		// A media message whose file cannot be named cannot be fetched:
		// the business hears of it as content it cannot show.
		n.log.Warn("Cloud media message without a media id", "id", id, "type", typ)
		in.Type = "unknown"
	case typ == "audio" && obj["voice"] == true:
		in.Type = "voice"
		fallthrough
	case mediaKinds[typ]:
		delete(obj, "voice")
		delete(obj, "url") // short-lived and Cloud-only; the file is fetched by id
		mediaID, _ := obj["id"].(string)
		mime, _ := obj["mime_type"].(string)
		sum, _ := obj["sha256"].(string)
		name, _ := obj["filename"].(string)
		in.Media = &network.InboundMedia{NetworkID: mediaID, Kind: in.Type, MimeType: mime, SHA256: hexSHA256(sum), Filename: name}
		obj["sha256"] = in.Media.SHA256
		content[in.Type] = obj
	case typ == "reaction":
		if mid, ok := obj["message_id"].(string); ok {
			obj["message_id"] = n.ourIDOr(ctx, mid)
		}
		content[typ] = obj
	case passThrough[typ]:
		content[typ] = json.RawMessage(m[typ])
	default:
		in.Type = "unknown"
	}
	if raw, ok := m["context"]; ok {
		var c map[string]any
		if json.Unmarshal(raw, &c) == nil {
			if cid, ok := c["id"].(string); ok {
				c["id"] = n.ourIDOr(ctx, cid)
			}
			content["context"] = c
		}
	}
	if raw, ok := m["referral"]; ok {
		content["referral"] = raw
	}
	b, err := json.Marshal(content)
	if err != nil {
		return network.Event{}, err
	}
	in.Content = b
	ev.Kind, ev.Message = network.EventMessage, in
	return ev, nil
}

// ourIDOr maps a wamid to our id when it is one of our messages.
func (n *Network) ourIDOr(ctx context.Context, wamid string) string {
	if m, err := n.store.CloudMessageByWAMID(ctx, wamid); err == nil {
		return m.ID
	}
	return wamid
}

// hexSHA256 gives the On-Premises spelling (hex) of the Cloud's base64
// SHA-256; anything else is kept as it came.
func hexSHA256(s string) string {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return hex.EncodeToString(b)
	}
	return s
}

func hasMediaID(obj map[string]any) bool {
	id, _ := obj["id"].(string)
	return id != ""
}
