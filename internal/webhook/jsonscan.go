package webhook

import (
	"encoding/json"
	"slices"
)

// Every callback is looked at twice: when it is queued (is it an object
// with an array under its kind?) and when it is sent (its arrays are merged
// with those of other callbacks of the kind). Decoding it into maps with
// encoding/json each time cost a few percent of the server's CPU under
// load; topLevelMembers does both jobs in one pass over the bytes, without
// decoding the values. FuzzTopLevelMembers holds it to encoding/json's
// answers.

// member is one top-level member of a JSON object.
type member struct {
	key   string
	array []json.RawMessage // its elements (raw, as in the text); nil when the value is not an array
}

// topLevelMembers lists the members of a JSON object in order. ok is false
// when data is not valid JSON or not an object. A key given twice counts
// once, with its last value, as encoding/json decoding into a map does.
func topLevelMembers(data []byte) (members []member, ok bool) {
	if !json.Valid(data) {
		return nil, false
	}
	// From here on the text is valid JSON, which keeps the scan simple.
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return nil, false
	}
	i = skipSpace(data, i+1)
	for data[i] != '}' {
		end := skipString(data, i)
		key, ok := jsonKey(data[i:end])
		if !ok {
			return nil, false
		}
		i = skipSpace(data, end) // at ':'
		i = skipSpace(data, i+1) // at the value
		m := member{key: key}
		if data[i] == '[' {
			m.array, end = arrayElements(data, i)
		} else {
			end = skipValue(data, i)
		}
		members = slices.DeleteFunc(members, func(o member) bool { return o.key == key })
		members = append(members, m)
		i = skipSpace(data, end)
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return members, true
}

// stringMember is the string value of the top-level member key of obj, an
// element of an array topLevelMembers found (so valid JSON): the attempt
// log reads each status's id without decoding the whole status.
func stringMember(obj []byte, key string) (string, bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return "", false
	}
	for i = skipSpace(obj, i+1); i < len(obj) && obj[i] != '}'; {
		end := skipString(obj, i)
		k, ok := jsonKey(obj[i:end])
		if !ok {
			return "", false
		}
		i = skipSpace(obj, end) // at ':'
		i = skipSpace(obj, i+1) // at the value
		end = skipValue(obj, i)
		if k == key {
			var s string
			return s, obj[i] == '"' && json.Unmarshal(obj[i:end], &s) == nil
		}
		if i = skipSpace(obj, end); i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return "", false
}

// jsonKey is the text of a quoted key; only keys with escapes are decoded.
func jsonKey(quoted []byte) (string, bool) {
	inner := quoted[1 : len(quoted)-1]
	if !slices.Contains(inner, '\\') {
		return string(inner), true
	}
	var key string
	return key, json.Unmarshal(quoted, &key) == nil
}

// arrayElements returns the raw elements of the array starting at i and the
// index just past it.
func arrayElements(data []byte, i int) ([]json.RawMessage, int) {
	elems := []json.RawMessage{}
	i = skipSpace(data, i+1)
	for data[i] != ']' {
		end := skipValue(data, i)
		elems = append(elems, json.RawMessage(data[i:end]))
		i = skipSpace(data, end)
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return elems, i + 1
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at i.
func skipString(data []byte, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++ // the escaped character (a \u escape's digits need no care)
		}
	}
	return i + 1
}

// skipValue returns the index just past the value starting at i.
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
	default: // a number, true, false or null
		for i < len(data) && !slices.Contains([]byte(",]} \t\r\n"), data[i]) {
			i++
		}
		return i
	}
}
