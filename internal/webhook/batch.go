package webhook

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/wabiz/wabiz/internal/store"
)

// Several queued items of one kind may share a POST: the payload arrays
// allow it (runtime spec §1.1), and a receiver taking 3 statuses per message
// sent is spared most of its requests. Items of different kinds never share
// a body, so a receiver that dispatches on the first key it sees still works.

// maxBatchBytes stops a batch from growing past what common receivers accept
// as a request body; an item larger than this is sent alone.
const maxBatchBytes = 1 << 20

type batch struct {
	kind  string
	items []store.Callback
	parts []map[string][]json.RawMessage // per item; nil for an item sent alone
	size  int
}

func (b *batch) ids() []int64 {
	ids := make([]int64, len(b.items))
	for i, cb := range b.items {
		ids[i] = cb.ID
	}
	return ids
}

// makeBatches groups claimed items (already in queue order) by kind, each
// batch at most max items, keeping queue order inside every batch.
func makeBatches(cbs []store.Callback, max int) []batch {
	var (
		out  []batch
		open = map[string]int{} // kind -> index in out of the batch still growing
	)
	for _, cb := range cbs {
		parts := splitArrays(cb.Payload)
		if i, ok := open[cb.Kind]; ok && parts != nil {
			b := &out[i]
			if len(b.items) < max && b.size+len(cb.Payload) <= maxBatchBytes {
				b.items = append(b.items, cb)
				b.parts = append(b.parts, parts)
				b.size += len(cb.Payload)
				continue
			}
		}
		out = append(out, batch{kind: cb.Kind, items: []store.Callback{cb}, parts: []map[string][]json.RawMessage{parts}, size: len(cb.Payload)})
		if parts != nil {
			open[cb.Kind] = len(out) - 1
		}
	}
	return out
}

// splitArrays returns the payload's top-level arrays, or nil when some
// top-level value is not an array: such an item cannot be merged and goes
// out alone, exactly as queued.
func splitArrays(payload []byte) map[string][]json.RawMessage {
	members, ok := topLevelMembers(payload)
	if !ok {
		return nil
	}
	out := make(map[string][]json.RawMessage, len(members))
	for _, m := range members {
		if m.array == nil {
			return nil
		}
		out[m.key] = m.array
	}
	return out
}

// body is the POST body: the payload itself for one item, else one object
// whose arrays are the items' arrays concatenated in queue order, keys
// sorted (so "contacts" comes before "messages", as in the spec's samples).
// The senders of inbound messages are listed once per wa_id.
func (b *batch) body() []byte {
	if len(b.items) == 1 {
		return b.items[0].Payload
	}
	merged := map[string][]json.RawMessage{}
	seen := map[string]bool{}
	for _, parts := range b.parts {
		for k, arr := range parts {
			if b.kind == KindMessages && k == "contacts" {
				arr = uniqueContacts(arr, seen)
			}
			merged[k] = append(merged[k], arr...)
		}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	buf.Grow(b.size + 16)
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, _ := json.Marshal(k)
		buf.Write(name)
		buf.WriteString(":[")
		for j, v := range merged[k] {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.Write(v)
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// uniqueContacts keeps the first contact seen for each wa_id; a contact
// without one is kept as it is.
func uniqueContacts(arr []json.RawMessage, seen map[string]bool) []json.RawMessage {
	var out []json.RawMessage
	for _, c := range arr {
		var id struct {
			WaID string `json:"wa_id"`
		}
		if json.Unmarshal(c, &id) == nil && id.WaID != "" {
			if seen[id.WaID] {
				continue
			}
			seen[id.WaID] = true
		}
		out = append(out, c)
	}
	return out
}
