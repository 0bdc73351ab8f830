package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
)

// TwoStep is what the handlers of /v1/settings/account/two-step need.
// Input errors come back as *apierr.Error.
type TwoStep interface {
	Enable(ctx context.Context, body map[string]json.RawMessage) error
	Disable(ctx context.Context) error
}

// AccountSecurity is what the handlers of /v1/settings/backup and
// /v1/settings/restore need. Input errors come back as *apierr.Error.
type AccountSecurity interface {
	Backup(ctx context.Context, password string) (string, error)
	Restore(ctx context.Context, password, data string) error
}

// accountSecurityRoutes are the routes of two-step verification and
// backup/restore when their services are configured (all under
// /v1/settings: admin only).
func (s *Server) accountSecurityRoutes() []Route {
	var routes []Route
	if s.twoStep != nil {
		routes = append(routes,
			Route{Method: "POST", Pattern: "/v1/settings/account/two-step", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.enableTwoStep},
			Route{Method: "DELETE", Pattern: "/v1/settings/account/two-step", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.disableTwoStep})
	}
	if s.security != nil {
		routes = append(routes,
			Route{Method: "POST", Pattern: "/v1/settings/backup", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.backup},
			Route{Method: "POST", Pattern: "/v1/settings/restore", Auth: AuthToken, Role: auth.RoleAdmin, MaxBody: max(s.maxBody, maxRestoreBodyBytes), File: true, Handler: s.restore})
	}
	return routes
}

func (s *Server) enableTwoStep(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := s.twoStep.Enable(r.Context(), p); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

func (s *Server) disableTwoStep(w http.ResponseWriter, r *http.Request) error {
	if err := s.twoStep.Disable(r.Context()); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

type backupResponse struct {
	Settings struct {
		Data string `json:"data"`
	} `json:"settings"`
}

func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	var errs apierr.List
	password := requiredMatching(p, "password", nil, &errs)
	if e := errs.Err(); e != nil {
		return e
	}
	data, err := s.security.Backup(r.Context(), password)
	if err != nil {
		return err
	}
	var resp backupResponse
	resp.Settings.Data = data
	s.writeOK(w, http.StatusOK, resp)
	return nil
}

func (s *Server) restore(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	var errs apierr.List
	password := requiredMatching(p, "password", nil, &errs)
	data := requiredMatching(p, "data", nil, &errs)
	if e := errs.Err(); e != nil {
		return e
	}
	if err := s.security.Restore(r.Context(), password, data); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}
