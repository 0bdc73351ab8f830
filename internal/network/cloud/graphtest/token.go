package graphtest

import (
	"net/http"
	"time"
)

// SetTokenScopes sets the permissions debug_token reports for Token (by
// default whatsapp_business_management and whatsapp_business_messaging).
func (s *Server) SetTokenScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = scopes
}

// SetTokenExpiry sets when debug_token says Token expires (zero: never,
// as a system-user token).
func (s *Server) SetTokenExpiry(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresAt = 0
	if !t.IsZero() {
		s.expiresAt = t.Unix()
	}
}

// debugToken is GET /debug_token?input_token=: the caller's token is
// already checked, so only a different input token is reported invalid,
// as the Graph reports a token it cannot match.
func (s *Server) debugToken(w http.ResponseWriter, r *http.Request) {
	input := r.URL.Query().Get("input_token")
	if input == "" {
		graphError(w, 400, 100, 0, "(#100) The parameter input_token is required")
		return
	}
	if input != s.Token {
		writeJSON(w, map[string]any{"data": map[string]any{"is_valid": false, "scopes": []string{},
			"error": map[string]any{"code": 190, "message": "Invalid OAuth access token."}}})
		return
	}
	s.mu.Lock()
	scopes := append([]string{}, s.scopes...)
	expires := s.expiresAt
	s.mu.Unlock()
	writeJSON(w, map[string]any{"data": map[string]any{"app_id": s.AppID, "type": "SYSTEM_USER", "application": "wabiz test app",
		"is_valid": true, "expires_at": expires, "scopes": scopes}})
}
