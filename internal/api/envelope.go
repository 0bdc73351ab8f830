package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/wabiz/wabiz/internal/apierr"
)

// meta is the envelope's "meta" object.
type meta struct {
	APIStatus string `json:"api_status"`
	Version   string `json:"version"`
}

// writeJSON renders the On-Premises envelope: the payload's keys first, then
// meta, then errors (only when there are some). The payload must marshal to a
// JSON object (a struct keeps key order) or be nil.
func (s *Server) writeJSON(w http.ResponseWriter, status int, payload any, errs []apierr.Detail) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	if payload != nil {
		body, err := json.Marshal(payload)
		if err != nil || len(body) < 2 || body[0] != '{' {
			s.log.Error("response payload is not a JSON object", "err", err)
			body = []byte("{}")
		}
		inner := bytes.TrimSpace(body[1 : len(body)-1])
		if len(inner) > 0 {
			buf.Write(inner)
			buf.WriteByte(',')
		}
	}
	buf.WriteString(`"meta":`)
	buf.Write(s.metaJSON)
	if len(errs) > 0 {
		e, _ := json.Marshal(errs)
		buf.WriteString(`,"errors":`)
		buf.Write(e)
	}
	buf.WriteString("}\n")
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeOK answers 200 with a payload (or just meta when payload is nil).
func (s *Server) writeOK(w http.ResponseWriter, status int, payload any) {
	s.writeJSON(w, status, payload, nil)
}

// writeError renders any error a handler returned. API errors carry their
// own status; anything else is an internal failure: logged with the request
// id, answered 500/1014 without leaking the cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *apierr.Error
	if !errors.As(err, &apiErr) {
		s.log.Error("request failed", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
		apiErr = apierr.Internal("")
	}
	s.writeJSON(w, apiErr.Status, nil, apiErr.Details)
}

func newMetaJSON(version string) []byte {
	b, err := json.Marshal(meta{APIStatus: "stable", Version: version})
	if err != nil {
		panic(err) // two plain strings always marshal
	}
	return b
}
