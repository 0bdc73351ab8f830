package message

import (
	"strings"
	"testing"
)

const fullCard = `{
	"name": {"formatted_name": "Dana Reyes", "first_name": "Dana", "last_name": "Reyes", "middle_name": "M", "suffix": "Jr", "prefix": "Dr", "nick": "x"},
	"birthday": "1990-04-12",
	"urls": [{"url": "https://acme.example", "type": "work"}],
	"addresses": [{"street": "1 Example St", "city": "Springfield", "state": "IL", "zip": "62701",
		"country": "United States", "country_code": "us", "type": "WORK"}],
	"org": {"company": "Acme", "department": "Sales", "title": "Manager"},
	"emails": [{"email": "dana@example.org", "type": "Work"}],
	"phones": [{"phone": "+1 555 000 2222", "type": "CELL", "wa_id": "15550002222"}, {"phone": "555-0100", "type": "iphone"}],
	"ims": [{"user_id": "dana", "service": "matrix"}],
	"photo": "ignored"
}`

const fullCardCanonical = `{"name":{"formatted_name":"Dana Reyes","first_name":"Dana","last_name":"Reyes","middle_name":"M","suffix":"Jr","prefix":"Dr"},` +
	`"phones":[{"phone":"+1 555 000 2222","type":"CELL","wa_id":"15550002222"},{"phone":"555-0100","type":"IPHONE"}],` +
	`"emails":[{"email":"dana@example.org","type":"WORK"}],` +
	`"org":{"company":"Acme","department":"Sales","title":"Manager"},` +
	`"addresses":[{"street":"1 Example St","city":"Springfield","state":"IL","zip":"62701","country":"United States","country_code":"us","type":"WORK"}],` +
	`"urls":[{"url":"https://acme.example","type":"WORK"}],` +
	`"ims":[{"service":"matrix","user_id":"dana"}],` +
	`"birthday":"1990-04-12"}`

func TestDecodeContactsErrors(t *testing.T) {
	send := func(list string) string {
		return `{"to":"15550001111","type":"contacts","contacts":` + list + `}`
	}
	card := func(extra string) string {
		return send(`[{"name":{"formatted_name":"D"}` + extra + `}]`)
	}
	many := strings.TrimSuffix(strings.Repeat(`{"name":{"formatted_name":"D"}},`, MaxContacts+1), ",")
	manyPhones := strings.TrimSuffix(strings.Repeat(`{"phone":"1"},`, 21), ",")
	runDecodeCases(t, []decodeCase{
		{"an object, not a list", send(`{"name":{"formatted_name":"D"}}`), 400, []detail{invalid("contacts", `{"name":{"formatted_name":"D"}}`)}},
		{"a string", send(`"Dana"`), 400, []detail{invalid("contacts", "Dana")}},
		{"too many cards", send(`[` + many + `]`), 400, []detail{{1009, "Parameter 'contacts' must have 1 to 20 items; it has 21"}}},
		{"a card not an object", send(`["Dana"]`), 400, []detail{invalid("contacts[0]", "Dana")}},
		{"name missing", send(`[{"phones":[{"phone":"1"}]}]`), 400, []detail{missing("contacts[0].name")}},
		{"name not an object", send(`[{"name":"Dana"}]`), 400, []detail{invalid("contacts[0].name", "Dana")}},
		{"formatted_name missing", send(`[{"name":{"first_name":"Dana"}}]`), 400, []detail{missing("contacts[0].name.formatted_name")}},
		{"formatted_name blank", send(`[{"name":{"formatted_name":"  "}}]`), 400, []detail{invalid("contacts[0].name.formatted_name", "  ")}},
		{"unknown card keys ignored, org checked", card(`,"name2":1,"org":{"title":1}`), 400, []detail{invalid("contacts[0].org.title", "1")}},
		{"second card wrong", send(`[{"name":{"formatted_name":"A"}},{"name":{}}]`), 400, []detail{missing("contacts[1].name.formatted_name")}},
		{"phones not a list", card(`,"phones":{"phone":"1"}`), 400, []detail{invalid("contacts[0].phones", `{"phone":"1"}`)}},
		{"too many phones", card(`,"phones":[` + manyPhones + `]`), 400, []detail{{1009, "Parameter 'contacts[0].phones' must have 0 to 20 items; it has 21"}}},
		{"phone entry not an object", card(`,"phones":["1"]`), 400, []detail{invalid("contacts[0].phones[0]", "1")}},
		{"phone missing", card(`,"phones":[{"type":"CELL"}]`), 400, []detail{missing("contacts[0].phones[0].phone")}},
		{"phone type unknown", card(`,"phones":[{"phone":"1","type":"FAX"}]`), 400, []detail{invalid("contacts[0].phones[0].type", "FAX")}},
		{"phone type not a string", card(`,"phones":[{"phone":"1","type":1}]`), 400, []detail{invalid("contacts[0].phones[0].type", "1")}},
		{"wa_id not normalised", card(`,"phones":[{"phone":"1","wa_id":"+1 555 000 2222"}]`), 400,
			[]detail{invalid("contacts[0].phones[0].wa_id", "+1 555 000 2222")}},
		{"wa_id too short", card(`,"phones":[{"phone":"1","wa_id":"1555"}]`), 400, []detail{invalid("contacts[0].phones[0].wa_id", "1555")}},
		{"email missing", card(`,"emails":[{"type":"HOME"}]`), 400, []detail{missing("contacts[0].emails[0].email")}},
		{"email without @", card(`,"emails":[{"email":"dana.example.org"}]`), 400, []detail{invalid("contacts[0].emails[0].email", "dana.example.org")}},
		{"email with a space", card(`,"emails":[{"email":"dana reyes@example.org"}]`), 400,
			[]detail{invalid("contacts[0].emails[0].email", "dana reyes@example.org")}},
		{"email type CELL", card(`,"emails":[{"email":"d@x.example","type":"CELL"}]`), 400, []detail{invalid("contacts[0].emails[0].type", "CELL")}},
		{"address with only a type", card(`,"addresses":[{"type":"HOME"}]`), 400, []detail{invalid("contacts[0].addresses[0]", `{"type":"HOME"}`)}},
		{"address field not a string", card(`,"addresses":[{"zip":62701}]`), 400, []detail{invalid("contacts[0].addresses[0].zip", "62701")}},
		{"address type unknown", card(`,"addresses":[{"city":"X","type":"OFFICE"}]`), 400, []detail{invalid("contacts[0].addresses[0].type", "OFFICE")}},
		{"url missing", card(`,"urls":[{"type":"WORK"}]`), 400, []detail{missing("contacts[0].urls[0].url")}},
		{"url type unknown", card(`,"urls":[{"url":"x","type":"MAIN"}]`), 400, []detail{invalid("contacts[0].urls[0].type", "MAIN")}},
		{"ims empty entry", card(`,"ims":[{}]`), 400, []detail{invalid("contacts[0].ims[0]", "{}")}},
		{"ims field not a string", card(`,"ims":[{"service":"x","user_id":5}]`), 400, []detail{invalid("contacts[0].ims[0].user_id", "5")}},
		{"birthday not a date", card(`,"birthday":"12/04/1990"`), 400, []detail{invalid("contacts[0].birthday", "12/04/1990")}},
		{"birthday not a real day", card(`,"birthday":"1990-02-30"`), 400, []detail{invalid("contacts[0].birthday", "1990-02-30")}},
		{"birthday month 13", card(`,"birthday":"1990-13-01"`), 400, []detail{invalid("contacts[0].birthday", "1990-13-01")}},
		{"birthday with a sign", card(`,"birthday":"-990-01-01"`), 400, []detail{invalid("contacts[0].birthday", "-990-01-01")}},
		{"birthday without zero padding", card(`,"birthday":"1990-4-12"`), 400, []detail{invalid("contacts[0].birthday", "1990-4-12")}},
		{"birthday a number", card(`,"birthday":19900412`), 400, []detail{invalid("contacts[0].birthday", "19900412")}},
		{"text too long", card(`,"org":{"company":"` + strings.Repeat("c", MaxContactFieldChars+1) + `"}`), 400,
			[]detail{longer("contacts[0].org.company", MaxContactFieldChars)}},
		{"every list in card order", card(`,"phones":[{}],"emails":[{}],"org":[],"addresses":[{}],"urls":[{}],"ims":[{}],"birthday":"x"`), 400,
			[]detail{missing("contacts[0].phones[0].phone"), missing("contacts[0].emails[0].email"), invalid("contacts[0].org", "[]"),
				invalid("contacts[0].addresses[0]", "{}"), missing("contacts[0].urls[0].url"), invalid("contacts[0].ims[0]", "{}"),
				invalid("contacts[0].birthday", "x")}},
		{"leap day", card(`,"birthday":"2000-02-29"`), 0, nil},
		{"empty lists and empty org are fine", card(`,"phones":[],"emails":null,"org":{}`), 0, nil},
	})
}

func TestDecodeContactsModel(t *testing.T) {
	msg, err := Decode(mustParams(t, `{"to":"15550001111","type":"contacts","contacts":[`+fullCard+`,{"name":{"formatted_name":"Lee"}}]}`))
	if err != nil {
		t.Fatal(err.Details)
	}
	if len(msg.Contacts) != 2 || msg.Contacts[0].FormattedName != "Dana Reyes" || msg.Contacts[1].FormattedName != "Lee" {
		t.Fatalf("contacts %+v", msg.Contacts)
	}
	if got := string(msg.Contacts[0].Raw); got != fullCardCanonical {
		t.Errorf("card\n got %s\nwant %s", got, fullCardCanonical)
	}
	if got := string(msg.Contacts[1].Raw); got != `{"name":{"formatted_name":"Lee"}}` {
		t.Errorf("card %s", got)
	}
}
