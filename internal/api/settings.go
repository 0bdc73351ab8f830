package api

import (
	"net/http"
)

type applicationSettingsResponse struct {
	Settings struct {
		Application any `json:"application"`
	} `json:"settings"`
}

// getApplicationSettings is GET /v1/settings/application.
func (s *Server) getApplicationSettings(w http.ResponseWriter, r *http.Request) error {
	var resp applicationSettingsResponse
	app := s.settings.Current()
	if acct, ok := s.messaging.Account(); ok {
		app.WaID = acct.WaID
	}
	resp.Settings.Application = app
	s.writeOK(w, http.StatusOK, resp)
	return nil
}

// patchApplicationSettings is PATCH /v1/settings/application: a partial
// update, validated whole before anything is stored.
func (s *Server) patchApplicationSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := s.settings.Patch(r.Context(), p); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// deleteApplicationSettings is DELETE /v1/settings/application: back to the
// factory defaults.
func (s *Server) deleteApplicationSettings(w http.ResponseWriter, r *http.Request) error {
	if err := s.settings.Reset(r.Context()); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}
