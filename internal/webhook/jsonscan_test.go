package webhook

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzTopLevelMembers: the one-pass scan answers what decoding with
// encoding/json answers: the same objects accepted, the same keys, the same
// members found to be arrays, and the same elements.
func FuzzTopLevelMembers(f *testing.F) {
	for _, s := range []string{
		`{"statuses":[{"id":"gB1","status":"sent"}]}`,
		`{"contacts":[{"profile":{"name":"A \"B\" [x]"},"wa_id":"1"}],"messages":[{"text":{"body":"}]\\"}"}},2, "x",null ,true]}`,
		` { "a" : [ 1 , -2.5e3 , "\u00e9" ] , "b" : {"c":[]} } `,
		`{"a":1,"a":[]}`, `{"a":[],"a":1}`, `{"\u0061":[1],"a":[2]}`, `{}`, `{"":[]}`,
		`[]`, `null`, `"x"`, `{"a":[}`, `{"a":[1,]}`, ``, `{"a":[[],[[]],{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return // queued payloads are checked for UTF-8 first
		}
		members, ok := topLevelMembers(data)
		var obj map[string]json.RawMessage
		wantOK := json.Unmarshal(data, &obj) == nil && obj != nil
		if ok != wantOK {
			t.Fatalf("%q: scan says object %v, encoding/json %v", data, ok, wantOK)
		}
		if !ok {
			return
		}
		var keys []string
		for _, m := range members {
			keys = append(keys, m.key)
			var arr []json.RawMessage
			isArray := json.Unmarshal(obj[m.key], &arr) == nil && arr != nil
			if (m.array != nil) != isArray {
				t.Fatalf("%q: member %q array %v, encoding/json %v", data, m.key, m.array != nil, isArray)
			}
			if len(m.array) != len(arr) {
				t.Fatalf("%q: member %q has %d elements, encoding/json %d", data, m.key, len(m.array), len(arr))
			}
			for i := range arr {
				if !bytes.Equal(bytes.TrimSpace(m.array[i]), bytes.TrimSpace(arr[i])) {
					t.Fatalf("%q: member %q element %d is %q, encoding/json %q", data, m.key, i, m.array[i], arr[i])
				}
			}
		}
		slices.Sort(keys)
		want := make([]string, 0, len(obj))
		for k := range obj {
			want = append(want, k)
		}
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Fatalf("%q: keys %q, encoding/json %q", data, keys, want)
		}
	})
}
