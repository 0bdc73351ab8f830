package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/network"
)

var (
	ccPattern    = regexp.MustCompile(`^[0-9]{1,3}$`)
	phonePattern = regexp.MustCompile(`^[0-9]{4,15}$`)
	pinPattern   = regexp.MustCompile(`^[0-9]{6}$`)
	codePattern  = regexp.MustCompile(`^[0-9]{6}$`)
)

type accountResponse struct {
	Account []accountItem `json:"account"`
}

type accountItem struct {
	VName string `json:"vname"`
}

// requestCode is POST /v1/account: 202 with the certificate's display name
// when a code was sent, 201 when this number is already registered here.
func (s *Server) requestCode(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	var errs apierr.List
	req := network.CodeRequest{}
	req.CC = requiredMatching(p, "cc", ccPattern, &errs)
	req.PhoneNumber = requiredMatching(p, "phone_number", phonePattern, &errs)
	req.Method = requiredMatching(p, "method", nil, &errs)
	if req.Method != "" && req.Method != "sms" && req.Method != "voice" {
		errs.Merge(apierr.InvalidValue("method", req.Method))
	}
	cert, hasCert, e := p.optionalString("cert")
	errs.Merge(e)
	vnameCert, hasVnameCert, e := p.optionalString("vname_cert")
	errs.Merge(e)
	switch {
	case hasCert && hasVnameCert:
		errs.Add(1010, "Exactly one of the following parameters must be present: 'cert', 'vname_cert'")
	case !hasCert && !hasVnameCert:
		errs.Add(1008, "Atleast one of the following parameters must be present: 'cert', 'vname_cert'")
	case hasCert:
		req.Cert = cert
	default:
		req.Cert = vnameCert
	}
	reset, hasReset, e := p.optionalString("reset")
	errs.Merge(e)
	if hasReset && reset != "wipe" {
		errs.Merge(apierr.InvalidValue("reset", reset))
	}
	if pin, hasPin, e := p.optionalString("pin"); e != nil {
		errs.Merge(e)
	} else if hasPin && hasReset {
		errs.Merge(apierr.NotRequired("pin", "reset", reset))
	} else if hasPin && !pinPattern.MatchString(pin) {
		errs.Merge(apierr.InvalidValue("pin", pin))
	} else {
		req.Pin = pin // the core checks it against two-step verification
	}
	if e := errs.Err(); e != nil {
		return e
	}
	vname, already, err := s.messaging.RequestCode(r.Context(), req)
	if err != nil {
		return err
	}
	if already {
		s.writeOK(w, http.StatusCreated, nil)
		return nil
	}
	s.writeOK(w, http.StatusAccepted, accountResponse{Account: []accountItem{{VName: vname}}})
	return nil
}

// verifyAccount is POST /v1/account/verify.
func (s *Server) verifyAccount(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	var errs apierr.List
	code := requiredMatching(p, "code", codePattern, &errs)
	if e := errs.Err(); e != nil {
		return e
	}
	if err := s.messaging.Verify(r.Context(), code); err != nil {
		return err
	}
	s.writeOK(w, http.StatusCreated, nil)
	return nil
}

// requiredMatching reads a mandatory string parameter: 1008 when absent,
// 1009 when not a string or not matching pattern (nil: any string).
func requiredMatching(p params, name string, pattern *regexp.Regexp, errs *apierr.List) string {
	v, present, e := p.optionalString(name)
	switch {
	case e != nil:
		errs.Merge(e)
	case !present || v == "":
		errs.Merge(apierr.MissingParam(name))
	case pattern != nil && !pattern.MatchString(v):
		errs.Merge(apierr.InvalidValue(name, v))
	default:
		return v
	}
	return ""
}

type shardsResponse struct {
	Account struct {
		Shards int `json:"shards"`
	} `json:"account"`
}

// getShards is GET /v1/account/shards.
func (s *Server) getShards(w http.ResponseWriter, r *http.Request) error {
	n, err := s.messaging.Shards(r.Context())
	if err != nil {
		return err
	}
	var resp shardsResponse
	resp.Account.Shards = n
	s.writeOK(w, http.StatusOK, resp)
	return nil
}

// setShards is POST /v1/account/shards {cc, phone_number, shards, pin?, cert}.
func (s *Server) setShards(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	var errs apierr.List
	cc := requiredMatching(p, "cc", ccPattern, &errs)
	phone := requiredMatching(p, "phone_number", phonePattern, &errs)
	requiredMatching(p, "cert", nil, &errs) // required since v2.45
	shards := 0
	if raw, ok := p["shards"]; !ok || string(raw) == "null" {
		errs.Merge(apierr.MissingParam("shards"))
	} else if json.Unmarshal(raw, &shards) != nil || !slices.Contains(core.ShardCounts, shards) {
		errs.Merge(apierr.InvalidValue("shards", displayJSON(raw)))
	}
	pin, hasPin, e := p.optionalString("pin")
	errs.Merge(e)
	if hasPin && !pinPattern.MatchString(pin) {
		errs.Merge(apierr.InvalidValue("pin", pin))
	}
	if e := errs.Err(); e != nil {
		return e
	}
	if err := s.messaging.SetShards(r.Context(), cc, phone, shards, pin); err != nil {
		return err
	}
	s.writeOK(w, http.StatusCreated, nil)
	return nil
}
