package sandbox

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Render is what a user's phone shows for a message, as one readable text:
// the body of a text, the caption and size of a file, a pin for a location,
// the names on a contact card, the body and choices of an interactive
// message. It lets a developer see at a glance what a customer received.
func Render(body json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var msgType string
	json.Unmarshal(m["type"], &msgType)
	var obj map[string]any
	json.Unmarshal(m[msgType], &obj)
	text := func(v any) string { s, _ := v.(string); return s }
	var out string
	switch msgType {
	case "text":
		out = text(obj["body"])
	case "image", "video", "audio", "document", "sticker", "voice":
		var file map[string]any
		json.Unmarshal(m["media"], &file)
		out = "[" + msgType
		if name := text(obj["filename"]); name != "" {
			out += " " + name
		}
		if file != nil {
			out += fmt.Sprintf(", %s, %.0f bytes", text(file["mime_type"]), file["size"])
		}
		out += "]"
		if c := text(obj["caption"]); c != "" {
			out += " " + c
		}
	case "location":
		out = fmt.Sprintf("📍 %v, %v", obj["latitude"], obj["longitude"])
		if n := text(obj["name"]); n != "" {
			out = "📍 " + n
			if a := text(obj["address"]); a != "" {
				out += ", " + a
			}
			out += fmt.Sprintf(" (%v, %v)", obj["latitude"], obj["longitude"])
		}
	case "contacts":
		var cards []map[string]any
		json.Unmarshal(m["contacts"], &cards)
		var names []string
		for _, c := range cards {
			name, _ := c["name"].(map[string]any)
			entry := "👤 " + text(name["formatted_name"])
			if phones, _ := c["phones"].([]any); len(phones) > 0 {
				p, _ := phones[0].(map[string]any)
				entry += " " + text(p["phone"])
			}
			names = append(names, entry)
		}
		out = strings.Join(names, "; ")
	case "interactive":
		out = renderInteractive(obj)
	case "reaction":
		out = fmt.Sprintf("reacted %s to %s", text(obj["emoji"]), text(obj["message_id"]))
		if text(obj["emoji"]) == "" {
			out = "removed the reaction to " + text(obj["message_id"])
		}
	case "template", "hsm":
		out = renderTemplate(m["shown"])
	}
	return out
}

func renderInteractive(obj map[string]any) string {
	text := func(v any) string { s, _ := v.(string); return s }
	var parts []string
	if h, _ := obj["header"].(map[string]any); h != nil && text(h["text"]) != "" {
		parts = append(parts, text(h["text"]))
	}
	if b, _ := obj["body"].(map[string]any); b != nil {
		parts = append(parts, text(b["text"]))
	}
	action, _ := obj["action"].(map[string]any)
	var choices []string
	if buttons, _ := action["buttons"].([]any); buttons != nil {
		for _, b := range buttons {
			bm, _ := b.(map[string]any)
			reply, _ := bm["reply"].(map[string]any)
			choices = append(choices, "["+text(reply["title"])+"]")
		}
	}
	if sections, _ := action["sections"].([]any); sections != nil {
		for _, s := range sections {
			sm, _ := s.(map[string]any)
			rows, _ := sm["rows"].([]any)
			for _, r := range rows {
				rm, _ := r.(map[string]any)
				choices = append(choices, "• "+text(rm["title"]))
			}
			items, _ := sm["product_items"].([]any)
			for _, it := range items {
				im, _ := it.(map[string]any)
				choices = append(choices, "🛒 "+text(im["product_retailer_id"]))
			}
		}
	}
	if id := text(action["product_retailer_id"]); id != "" {
		choices = append(choices, "🛒 "+id)
	}
	if f, _ := obj["footer"].(map[string]any); f != nil && text(f["text"]) != "" {
		choices = append(choices, text(f["text"]))
	}
	return strings.TrimSpace(strings.Join(append(parts, choices...), "\n"))
}

func renderTemplate(raw json.RawMessage) string {
	var t shownTemplate
	if json.Unmarshal(raw, &t) != nil {
		return ""
	}
	var lines []string
	if t.Header != nil {
		if t.Header.Text != "" {
			lines = append(lines, t.Header.Text)
		} else {
			lines = append(lines, "["+t.Header.Format+"]")
		}
	}
	lines = append(lines, t.Body)
	if t.Footer != "" {
		lines = append(lines, t.Footer)
	}
	for _, b := range t.Buttons {
		switch {
		case b.URL != "":
			lines = append(lines, "["+b.Text+" → "+b.URL+"]")
		case b.Phone != "":
			lines = append(lines, "["+b.Text+" ☎ "+b.Phone+"]")
		case b.Code != "":
			lines = append(lines, "[copy "+b.Code+"]")
		default:
			lines = append(lines, "["+b.Text+"]")
		}
	}
	return strings.Join(lines, "\n")
}
