package api

import (
	"errors"
	"net/http"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/store"
)

// expiresAfterLayout is the login response's expires_after format (PHP
// "Y-m-d H:i:sP" in UTC); existing clients parse it.
const expiresAfterLayout = "2006-01-02 15:04:05-07:00"

type loginResponse struct {
	Users []loginToken `json:"users"`
}

type loginToken struct {
	Token        string `json:"token"`
	ExpiresAfter string `json:"expires_after"`
}

type usernameResponse struct {
	Users []usernameItem `json:"users"`
}

type usernameItem struct {
	Username string `json:"username"`
}

type userResponse struct {
	Users []userItem `json:"users"`
}

type userItem struct {
	Roles    string `json:"ROLES"`
	Username string `json:"username"`
}

func usernamePayload(u string) usernameResponse {
	return usernameResponse{Users: []usernameItem{{Username: u}}}
}

func tooManyBadLogins() *apierr.Error {
	return apierr.New(1015, "Rate limiting exceeded on bad login attempts")
}

// login is POST /v1/users/login: HTTP Basic, optional new_password.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	ip := throttleKey(clientIP(r))
	// The attempt is counted before the password is checked, and given back
	// unless it fails: parallel attempts cannot pass the limit together.
	if !s.loginFailures.Allow(ip) {
		return tooManyBadLogins()
	}
	failed := false
	defer func() {
		if !failed {
			s.loginFailures.Release(ip)
		}
	}()
	username, password, ok := basicAuth(r)
	if !ok {
		failed = true
		return loginFailed(w, apierr.New(1005, "Missing or invalid authentication credentials").WithStatus(http.StatusUnauthorized))
	}
	user, err := s.auth.CheckCredentials(r.Context(), username, password)
	if errors.Is(err, auth.ErrBadCredentials) {
		failed = true
		return loginFailed(w, apierr.New(1005, "Invalid credentials.").WithStatus(http.StatusUnauthorized))
	}
	if err != nil {
		return err
	}
	p, err := readParams(r)
	if err != nil {
		return err
	}
	newPassword, changing, apiErr := p.optionalString("new_password")
	if apiErr != nil {
		return apiErr
	}
	if user.PasswordChangeRequired && !changing {
		failed = true
		return loginFailed(w, apierr.New(1024, "Password must be changed"))
	}
	if changing {
		err := s.auth.ChangePassword(r.Context(), user.Username, newPassword, auth.Principal{})
		if errors.Is(err, store.ErrNotFound) {
			return apierr.New(1006, "User does not exist")
		}
		if err != nil {
			return err
		}
	}
	token, expires, err := s.auth.IssueToken(r.Context(), user.Username)
	if err != nil {
		s.log.Error("issue token", "user", user.Username, "err", err)
		return apierr.Internal("Unable to create token")
	}
	setLogUser(r.Context(), user.Username)
	s.writeOK(w, http.StatusOK, loginResponse{Users: []loginToken{{Token: token, ExpiresAfter: expires.UTC().Format(expiresAfterLayout)}}})
	return nil
}

// loginFailed answers a failed login (login keeps it counted against the
// client's address; the check at its top turns every attempt after the limit
// into 429).
func loginFailed(w http.ResponseWriter, e *apierr.Error) error {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Secured"`)
	}
	return e
}

// basicAuth parses "Authorization: Basic ..." with the scheme spelled exactly.
func basicAuth(r *http.Request) (string, string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 6 || h[:6] != "Basic " {
		return "", "", false
	}
	return r.BasicAuth()
}

// logout is POST /v1/users/logout.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	if p.Role == auth.RoleAPI {
		return apierr.New(1005, "User doesn't have permission")
	}
	if err := s.auth.Logout(r.Context(), p); err != nil {
		s.log.Error("delete token", "user", p.Username, "err", err)
		return apierr.Internal("Unable to delete token")
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// createUser is POST /v1/users (admin only: the role its route declares).
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	if !s.userCreates.Allow(throttleKey(clientIP(r))) {
		return apierr.New(1015, "Rate limiting exceeded on create user")
	}
	p, err := readParams(r)
	if err != nil {
		return err
	}
	username, _, e1 := p.optionalString("username")
	password, _, e2 := p.optionalString("password")
	if e1 != nil {
		return e1
	}
	if e2 != nil {
		return e2
	}
	err = s.auth.CreateUser(r.Context(), username, password)
	if errors.Is(err, store.ErrExists) {
		return apierr.Internal("Unable to create user. Already exist?")
	}
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusCreated, usernamePayload(username))
	return nil
}

// getUser is GET /v1/users/{username}: admin reads anyone, a user only itself.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("username")
	p := principal(r.Context())
	if p.Role != auth.RoleAdmin && p.Username != name {
		return apierr.New(1005, "Regular user cannot read other user information")
	}
	u, err := s.auth.User(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return apierr.New(1006, "User does not exist")
	}
	if err != nil {
		s.log.Error("read user", "user", name, "err", err)
		return apierr.Internal("Unable to retrieve user")
	}
	s.writeOK(w, http.StatusOK, userResponse{Users: []userItem{{Roles: u.Role, Username: u.Username}}})
	return nil
}

// updateUser is PUT /v1/users/{username}: change a password.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	if !s.userUpdates.Allow(throttleKey(clientIP(r))) {
		return apierr.New(1015, "Rate limiting exceeded on update user")
	}
	name := r.PathValue("username")
	p := principal(r.Context())
	if p.Role != auth.RoleAdmin && p.Username != name {
		return apierr.New(1005, "Regular user cannot modify other user")
	}
	params, err := readParams(r)
	if err != nil {
		return err
	}
	password, _, apiErr := params.optionalString("password")
	if apiErr != nil {
		return apiErr
	}
	err = s.auth.ChangePassword(r.Context(), name, password, p)
	if errors.Is(err, store.ErrNotFound) {
		return apierr.New(1006, "User does not exist")
	}
	var validation *apierr.Error
	if err != nil && !errors.As(err, &validation) {
		s.log.Error("update user", "user", name, "err", err)
		return apierr.Internal("Unable to update user")
	}
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, usernamePayload(name))
	return nil
}

// deleteUser is DELETE /v1/users/{username} (admin only).
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("username")
	err := s.auth.DeleteUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return apierr.New(1006, "User does not exist")
	}
	var validation *apierr.Error
	if err != nil && !errors.As(err, &validation) {
		s.log.Error("delete user", "user", name, "err", err)
		return apierr.Internal("Unable to delete user")
	}
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, usernamePayload(name))
	return nil
}
