package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
)

// params are the top-level keys of a JSON request body, each kept raw so the
// handler can check its exact JSON type (a boolean setting must be a JSON
// boolean, not the string "true").
type params map[string]json.RawMessage

// readParams applies the Webapp's body rules: JSON is parsed only when the
// Content-Type starts with application/json (otherwise the parameters are
// absent); an empty body is no parameters; a body that is valid JSON but not
// an object is no parameters; malformed JSON is 400/1025.
func readParams(r *http.Request) (params, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return params{}, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apierr.Newf(1025, "Request body is larger than %d bytes", tooBig.Limit).WithStatus(http.StatusRequestEntityTooLarge)
		}
		return nil, apierr.New(1025, "Unable to read the request body")
	}
	return decodeParams(body)
}

func decodeParams(body []byte) (params, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return params{}, nil
	}
	if !utf8.Valid(body) {
		return nil, apierr.New(1025, "Unable to decode the request: Malformed UTF-8 characters, possibly incorrectly encoded")
	}
	if !json.Valid(body) {
		return nil, apierr.New(1025, "Unable to decode the request: Syntax error")
	}
	if body[0] != '{' {
		return params{}, nil
	}
	var p params
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, apierr.New(1025, "Unable to decode the request: Syntax error")
	}
	if p == nil {
		p = params{}
	}
	return p, nil
}

// optionalString returns a string parameter; present=false when absent or
// null. A non-string value is 1009.
func (p params) optionalString(name string) (value string, present bool, err *apierr.Error) {
	raw, ok := p[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	if json.Unmarshal(raw, &value) != nil {
		return "", true, apierr.InvalidValue(name, string(raw))
	}
	return value, true, nil
}
