package message

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
)

var decodeSeeds = []string{
	`{"to":"15550001111","text":{"body":"hi"}}`,
	`{"to":"+1 (555) 000-1111","type":"text","preview_url":true,"ttl":"P1DT2H","context":{"message_id":"ABGG"},"text":{"body":"https://example.org"}}`,
	`{"to":15550001111,"ttl":86400,"text":{"body":"x"}}`,
	`{"to":"15550001111","type":"image","image":{"id":"1","caption":"c"}}`,
	`{"to":"15550001111","type":"hsm","hsm":{"namespace":"n","element_name":"e","language":{"code":"en","policy":"deterministic"},"fallback_lg":"en"}}`,
	`{"to":"15550001111","type":"template","template":{"language":"en"}}`,
	`{"to":"15550001111","type":"contacts","contacts":[{"body":"b"}]}`,
	`{"to":"x","recipient_type":"group","ttl":"","preview_url":"1","image":"0"}`,
	`{"to":null,"type":null,"recipient_type":null,"preview_url":null,"ttl":null,"context":null,"text":null}`,
	`{"to":"0044 20 7946 0958","ttl":"PT0S","text":{"body":" "}}`,
	`{"text":{"body":5,"id":"1","language":{"policy":[]}},"ttl":[1]}`,
	`{}`,
}

// FuzzDecode: no request may panic Decode; every error carries a known code
// and a detail text; every success is sendable.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var params map[string]json.RawMessage
		if json.Unmarshal(data, &params) != nil {
			return
		}
		msg, err := Decode(params)
		if err != nil {
			if msg != nil {
				t.Fatal("a message and an error")
			}
			checkFuzzError(t, err)
			return
		}
		if msg == nil {
			t.Fatal("neither a message nor an error")
		}
		if again, ok := NormalizeNumber(msg.WaID); !ok || again != msg.WaID {
			t.Fatalf("WaID %q is not normalised", msg.WaID)
		}
		if msg.Type != TypeText || msg.Text == nil || strings.TrimSpace(msg.Text.Body) == "" ||
			utf8.RuneCountInString(msg.Text.Body) > MaxTextBodyChars {
			t.Fatalf("accepted message %+v", msg)
		}
		if msg.TTL < MinTTL || msg.TTL > MaxTTL {
			t.Fatalf("TTL %v", msg.TTL)
		}
		body, bodyErr := msg.Body()
		if bodyErr != nil || !json.Valid(body) {
			t.Fatalf("Body() = %s, %v", body, bodyErr)
		}
	})
}

func checkFuzzError(t *testing.T, err *apierr.Error) {
	t.Helper()
	if len(err.Details) == 0 {
		t.Fatal("an error without details")
	}
	for _, d := range err.Details {
		entry, known := apierr.Lookup(d.Code)
		if !known || d.Code == 0 || d.Title != entry.Title || d.Details == "" {
			t.Fatalf("bad detail %+v", d)
		}
	}
	if err.Status < 400 || err.Status == 500 {
		t.Fatalf("status %d", err.Status)
	}
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"15550001111", "+1 (555) 000-1111", "0044 20 7946 0958", "+44 (0)20 7946 0958",
		"＋１ ５５５", "\u200e+1\u00a0555", "1-800-FLOWERS", "", "+", "(0)", "00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		waID, ok := NormalizeNumber(input)
		if !ok {
			if waID != "" {
				t.Fatalf("rejected with a value %q", waID)
			}
			return
		}
		if len(waID) < minNumberDigits || len(waID) > maxNumberDigits || waID[0] == '0' || !allDigits(waID) {
			t.Fatalf("NormalizeNumber(%q) = %q", input, waID)
		}
		if again, ok := NormalizeNumber(waID); !ok || again != waID {
			t.Fatalf("not idempotent: %q -> %q -> %q", input, waID, again)
		}
		if d, err := decodeID(NewOutboundID(waID)); err != nil || d.waID != waID {
			t.Fatalf("id round trip for %q: %+v %v", waID, d, err)
		}
	})
}

func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{`86400`, `"86400"`, `"P1D"`, `"P1DT2H30M"`, `"PT90S"`, `"P2W"`, `""`, `0`, `"PT0S"`,
		`-1`, `1.5`, `"P1Y"`, `"P1W2D"`, `"PT"`, `null`, `[]`, `"P99999999999999999999D"`, `1e400`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := ParseTTL(raw)
		if err != nil {
			if d != 0 || err.Status != 400 || err.Code() != 1009 || len(err.Details) != 1 || err.Details[0].Details == "" {
				t.Fatalf("ParseTTL(%q) = %v, %+v", raw, d, err)
			}
			return
		}
		if d < MinTTL || d > MaxTTL || d%1e9 != 0 {
			t.Fatalf("ParseTTL(%q) = %v", raw, d)
		}
	})
}
