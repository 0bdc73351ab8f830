package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
)

func TestBatchingStatuses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		for i := range 50 {
			e.enqueue(t, status(fmt.Sprintf("gB%02d", i)))
		}
		res := e.runOnce(t)
		if res != (Result{Posts: 3, Delivered: 50}) {
			t.Fatalf("%+v", res)
		}
		// The three POSTs run concurrently: order them by their first id.
		var bodies [][]string
		for _, r := range e.recv.requests() {
			var body struct {
				Statuses []struct{ ID string } `json:"statuses"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("%s: %v", r.body, err)
			}
			var ids []string
			for _, s := range body.Statuses {
				ids = append(ids, s.ID)
			}
			bodies = append(bodies, ids)
		}
		slices.SortFunc(bodies, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
		var all []string
		var sizes []int
		for _, ids := range bodies {
			all = append(all, ids...)
			sizes = append(sizes, len(ids))
		}
		if !slices.Equal(sizes, []int{20, 20, 10}) {
			t.Fatalf("batch sizes %v", sizes)
		}
		for i, id := range all {
			if id != fmt.Sprintf("gB%02d", i) {
				t.Fatalf("queue order lost: %v", all)
			}
		}
	})
}

func TestBatchingMergesMessagesWithContactsAndKeepsKindsApart(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		// One POST at a time, so bodies arrive in queue order.
		e.set.Set(func(a *settings.Application) { a.Webhooks.MaxConcurrentRequests = 1 })
		inbound := func(waID, name, id string) Notification {
			return Notification{Kind: KindMessages, Payload: fmt.Appendf(nil,
				`{"contacts":[{"profile":{"name":%q},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"type":"text"}]}`, name, waID, waID, id)}
		}
		lookup := func(input, waID string) Notification {
			return Notification{Kind: KindContacts, Payload: fmt.Appendf(nil, `{"contacts":[{"input":%q,"status":"valid","wa_id":%q}]}`, input, waID)}
		}
		e.enqueue(t,
			inbound("15550001111", "Dana", "AB1"),
			status("gB1"),
			inbound("15550002222", "Lee", "AB2"),
			Notification{Kind: KindErrors, Payload: []byte(`{"errors":[{"code":1014,"title":"Internal error"}]}`)},
			inbound("15550001111", "Dana", "AB3"),
			status("gB2"),
			lookup("+1 555 000 1111", "15550001111"),
			lookup("15550001111", "15550001111"),
		)
		// Eight notifications in seven rows: the two lookups, queued one
		// after the other, share a row (coalesce).
		if res := e.runOnce(t); res != (Result{Posts: 4, Delivered: 7}) {
			t.Fatalf("%+v", res)
		}
		var got []string
		for _, r := range e.recv.requests() {
			got = append(got, string(r.body))
		}
		want := []string{
			`{"contacts":[{"profile":{"name":"Dana"},"wa_id":"15550001111"},{"profile":{"name":"Lee"},"wa_id":"15550002222"}],` +
				`"messages":[{"from":"15550001111","id":"AB1","type":"text"},{"from":"15550002222","id":"AB2","type":"text"},{"from":"15550001111","id":"AB3","type":"text"}]}`,
			`{"statuses":[{"id":"gB1","status":"delivered"},{"id":"gB2","status":"delivered"}]}`,
			`{"errors":[{"code":1014,"title":"Internal error"}]}`,
			// Async contact results are not de-duplicated: each answers its own input.
			`{"contacts":[{"input":"+1 555 000 1111","status":"valid","wa_id":"15550001111"},{"input":"15550001111","status":"valid","wa_id":"15550001111"}]}`,
		}
		if !slices.Equal(got, want) {
			t.Fatalf("bodies:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestMakeBatchesLimits(t *testing.T) {
	cb := func(id int64, kind, payload string) store.Callback {
		return store.Callback{ID: id, Kind: kind, Payload: []byte(payload)}
	}
	big := `{"statuses":[{"x":"` + strings.Repeat("y", 400_000) + `"}]}`
	var cbs []store.Callback
	for i := range 5 {
		cbs = append(cbs, cb(int64(i+1), KindStatuses, big))
	}
	// 1 MiB per body: two 400 KB items fit, a third does not.
	if sizes := batchSizes(makeBatches(cbs, 20)); !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Fatalf("byte cap: %v", sizes)
	}
	// An item with a non-array top-level value goes out alone, as queued.
	odd := cb(9, KindServices, `{"services":[{"message":{}}],"node":"wacore2"}`)
	plain := cb(10, KindServices, `{"services":[{"media":{}}]}`)
	bs := makeBatches([]store.Callback{plain, odd, plain}, 20)
	if sizes := batchSizes(bs); !slices.Equal(sizes, []int{2, 1}) {
		t.Fatalf("odd item: %v", sizes)
	}
	if !bytes.Equal(bs[1].body(), odd.Payload) {
		t.Fatalf("odd body %s", bs[1].body())
	}
	if sizes := batchSizes(makeBatches(cbs, 1)); !slices.Equal(sizes, []int{1, 1, 1, 1, 1}) {
		t.Fatalf("BatchMax 1: %v", sizes)
	}
}

func batchSizes(bs []batch) []int {
	var out []int
	for _, b := range bs {
		out = append(out, len(b.items))
	}
	return out
}

// TestCoalesce: notifications of one kind queued together share a row, up
// to the batch cap counted in notifications; other kinds, items that cannot
// be merged and the cap start a new row; a batch of rows never carries more
// notifications than the cap.
func TestCoalesce(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	pair := []Notification{status("gB1"), status("gB2")}
	rows := coalesce(pair, 20, now)
	if len(rows) != 1 || string(rows[0].Payload) != `{"statuses":[{"id":"gB1","status":"delivered"},{"id":"gB2","status":"delivered"}]}` {
		t.Fatalf("a pair: %d rows %q", len(rows), rows[0].Payload)
	}
	if rows := coalesce(pair, 1, now); len(rows) != 2 || string(rows[1].Payload) != string(pair[1].Payload) {
		t.Fatalf("with a cap of 1 each status is a row of its own: %d", len(rows))
	}
	odd := Notification{Kind: KindStatuses, Payload: []byte(`{"statuses":[{"id":"gB3"}],"meta":{"x":1}}`)}
	errs := Notification{Kind: KindErrors, Payload: []byte(`{"errors":[{"code":1014}]}`)}
	rows = coalesce([]Notification{status("a"), status("b"), status("c"), errs, status("d"), odd, status("e")}, 2, now)
	var got []string
	for _, r := range rows {
		got = append(got, string(r.Payload))
	}
	want := []string{
		`{"statuses":[{"id":"a","status":"delivered"},{"id":"b","status":"delivered"}]}`,
		string(status("c").Payload), string(errs.Payload), string(status("d").Payload), string(odd.Payload), string(status("e").Payload),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A claim of rows carrying 2 + 1 + 2 statuses with a cap of 3.
	claimed := []store.Callback{{ID: 1, Kind: KindStatuses, Payload: rows[0].Payload}, {ID: 2, Kind: KindStatuses, Payload: status("c").Payload}, {ID: 3, Kind: KindStatuses, Payload: rows[0].Payload}}
	batches := makeBatches(claimed, 3)
	if len(batches) != 2 || len(batches[0].items) != 2 || batches[0].weight != 3 || batches[1].weight != 2 {
		t.Fatalf("batches %+v", batches)
	}
}
