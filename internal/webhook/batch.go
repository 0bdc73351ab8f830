package webhook

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"

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
	// weight is the notifications the items carry (see weight).
	weight int
}

func (b *batch) ids() []int64 {
	ids := make([]int64, len(b.items))
	for i, cb := range b.items {
		ids[i] = cb.ID
	}
	return ids
}

// makeBatches groups claimed items (already in queue order) by kind, each
// batch at most max notifications (the elements of the kind's array: a
// queued row may carry several, see coalesce), keeping queue order inside
// every batch.
func makeBatches(cbs []store.Callback, max int) []batch {
	var (
		out  []batch
		open = map[string]int{} // kind -> index in out of the batch still growing
	)
	for _, cb := range cbs {
		parts := splitArrays(cb.Payload)
		n := weight(cb.Kind, parts)
		if i, ok := open[cb.Kind]; ok && parts != nil {
			b := &out[i]
			if b.weight+n <= max && b.size+len(cb.Payload) <= maxBatchBytes {
				b.items = append(b.items, cb)
				b.parts = append(b.parts, parts)
				b.size += len(cb.Payload)
				b.weight += n
				continue
			}
		}
		out = append(out, batch{kind: cb.Kind, items: []store.Callback{cb}, parts: []map[string][]json.RawMessage{parts}, size: len(cb.Payload), weight: n})
		if parts != nil {
			open[cb.Kind] = len(out) - 1
		}
	}
	return out
}

// weight is how many notifications an item carries: the length of its
// kind's array (one for an item that cannot be merged).
func weight(kind string, parts map[string][]json.RawMessage) int {
	if n := len(parts[kind]); n > 1 {
		return n
	}
	return 1
}

// coalesce turns notifications queued together into queue rows: a run of
// mergeable items of one kind becomes one row whose arrays are theirs
// concatenated, as a POST of them would carry (at most max notifications
// and maxBatchBytes per row). The worker queues a message's "sent" and
// "delivered" together: one row instead of two halves the queue's
// inserts, claims and deletes, and a receiver still gets at most max
// notifications per POST (makeBatches counts them).
func coalesce(items []Notification, max int, now time.Time) []store.Callback {
	out := make([]store.Callback, 0, len(items))
	var run batch
	flush := func() {
		if len(run.items) == 0 {
			return
		}
		cb := run.items[0]
		if len(run.items) > 1 {
			cb.Payload = run.body()
		}
		out = append(out, cb)
		run = batch{}
	}
	for _, it := range items {
		cb := store.Callback{Kind: it.Kind, Payload: slices.Clone([]byte(it.Payload)), NextAttemptAt: now, CreatedAt: now}
		parts := splitArrays(cb.Payload)
		n := weight(cb.Kind, parts)
		if parts == nil || len(run.items) == 0 || run.kind != cb.Kind || run.parts[0] == nil ||
			run.weight+n > max || run.size+len(cb.Payload) > maxBatchBytes {
			flush()
		}
		run.kind = cb.Kind
		run.items = append(run.items, cb)
		run.parts = append(run.parts, parts)
		run.size += len(cb.Payload)
		run.weight += n
	}
	flush()
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
