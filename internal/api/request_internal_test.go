package api

import "testing"

// Every request decoder of this package must answer bad input with a
// documented error: never a panic, never a 500.

func FuzzDecodeParams(f *testing.F) {
	for _, seed := range []string{"", "{}", "[]", "null", `{"a":1}`, `{"new_password":"x"}`, "{", "\xff", `{"a":{"b":{"c":[]}}}`, `"str"`, "1e999"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeParams(body)
		if err != nil {
			return
		}
		if p == nil {
			t.Fatal("nil params without error")
		}
		for name := range p {
			p.optionalString(name)
		}
	})
}

func TestDecodeParamsNeverPanics(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", " ", "null", "{}", "[]", "1", `{"a":null}`, `{"a":{"b":[1,2]}}`, "{", "\x00", `{"a":1,"a":2}`} {
		p, err := decodeParams([]byte(body))
		if err == nil && p == nil {
			t.Fatalf("%q: nil params without error", body)
		}
	}
}
