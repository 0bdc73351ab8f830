package cloud_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

const fuzzAppSecret = "fuzz-app-secret"

var fuzzDeliveries = []string{
	`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"15550100000","phone_number_id":"106540352242922"},` +
		`"contacts":[{"profile":{"name":"Dana"},"wa_id":"15550001111"}],` +
		`"messages":[{"from":"15550001111","id":"wamid.A","timestamp":"1795255200","type":"text","text":{"body":"hi"},"context":{"id":"wamid.B"}}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[` +
		`{"from":"1","id":"wamid.C","type":"image","image":{"id":"9","mime_type":"image/jpeg","sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}},` +
		`{"from":"1","id":"wamid.D","type":"audio","audio":{"id":"8","voice":true}},` +
		`{"from":"1","id":"wamid.E","type":"reaction","reaction":{"message_id":"wamid.X","emoji":"👍"}},` +
		`{"from":"1","id":"wamid.F","type":"system","system":{"type":"user_changed_number","wa_id":"2"}},` +
		`{"from":"1","id":"wamid.G","type":"system","system":{"type":"customer_identity_changed","identity":"h"}},` +
		`{"from":"1","id":"wamid.H","type":"order","order":{},"referral":{"source_url":"x"}},` +
		`{"from":"1","id":"wamid.I","type":"unsupported","errors":[{"code":131051}]}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[` +
		`{"id":"wamid.S","status":"delivered","timestamp":"1795255201","recipient_id":"15550001111","biz_opaque_callback_data":"gBGG"},` +
		`{"id":"wamid.T","status":"failed","errors":[{"code":131047,"title":"Re-engagement message","error_data":{"details":"x"}}]},` +
		`{"id":"wamid.U","status":"sent"},{"id":"wamid.V","status":"read","timestamp":"-5"}],"errors":[{"code":1}]}}]}]}`,
	`{"object":"page","entry":[]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_update","value":{}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[1]}}]}]}`,
	`[]`, `{`, ``,
}

// FuzzHandleWebhook feeds Meta's webhook endpoint signed deliveries of any
// shape (and, now and then, a wrong signature), then translates what was
// stored into network events, as the core would.
//
// Properties: it never panics; a delivery is either stored (nil), refused
// for its signature (SignatureError: the HTTP layer answers 401) or for its
// shape (PayloadError: 400), never any other error, which would be a 500;
// whatever was stored translates without error into events of the known
// kinds, each with an id to acknowledge.
func FuzzHandleWebhook(f *testing.F) {
	for _, d := range fuzzDeliveries {
		f.Add([]byte(d), "")
	}
	f.Add([]byte(fuzzDeliveries[0]), "sha256=00")
	f.Add([]byte(fuzzDeliveries[0]), "sha1=abc")

	st := storetest.Open(f, store.SQLite)
	var mu sync.Mutex
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		// Each reading is an hour later, so a status that maps to none of
		// our messages passes its grace at once instead of piling up.
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Hour)
		return now
	}
	n := cloud.New(cloud.Options{PhoneNumberID: "106540352242922", AppSecret: fuzzAppSecret, Store: st, Now: clock})
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, body []byte, signature string) {
		// Each input starts from an empty queue: what an earlier input left
		// (it failed before acknowledging) must not make this one fail, or
		// a failing input would not reproduce on its own.
		left, err := st.CloudEvents(ctx, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, 0, len(left))
		for _, e := range left {
			ids = append(ids, e.ID)
		}
		if err := st.DeleteCloudEvents(ctx, ids); err != nil {
			t.Fatal(err)
		}
		if signature == "" {
			signature = cloud.Sign(fuzzAppSecret, body)
		}
		err = n.HandleWebhook(ctx, body, signature)
		var sig *cloud.SignatureError
		var bad *cloud.PayloadError
		if err != nil && !errors.As(err, &sig) && !errors.As(err, &bad) {
			t.Fatalf("delivery %q: %v (would be a 500)", body, err)
		}
		events, err := n.Events(ctx, "node-a", 1000)
		if err != nil {
			t.Fatalf("translating delivery %q: %v", body, err)
		}
		acks := make([]string, 0, len(events))
		for _, ev := range events {
			ok := ev.ID != ""
			switch ev.Kind {
			case network.EventMessage:
				ok = ok && ev.Message != nil
			case network.EventStatus:
				ok = ok && ev.Status != nil
			case network.EventNumberChange:
				ok = ok && ev.Change != nil
			case network.EventIdentity:
				ok = ok && ev.Identity != nil
			case network.EventError:
				ok = ok && ev.Error != nil
			default:
				ok = false
			}
			if !ok {
				t.Fatalf("delivery %q gave the event %+v", body, ev)
			}
			acks = append(acks, ev.ID)
		}
		if err := n.Ack(ctx, acks); err != nil {
			t.Fatal(err)
		}
	})
}
