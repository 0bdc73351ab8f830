package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
)

// A console session is a wabiz token (the API's own: revocable, in the
// tokens table, valid on every node) kept in an HttpOnly cookie. Its CSRF
// token is an HMAC of the session token under a key all nodes share, so
// any node checks it without storing anything. The login form, which has
// no session yet, is protected by a double-submit cookie.

const (
	sessionCookie = "wabiz_console"
	loginCookie   = "wabiz_console_login"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

type session struct {
	username, role string
	principal      auth.Principal
	csrf           string
}

func (c *Console) session(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, &pageError{http.StatusUnauthorized, "Log in first"}
	}
	p, err := c.o.Auth.Authenticate(r.Context(), ck.Value)
	if errors.Is(err, auth.ErrBadCredentials) || errors.Is(err, auth.ErrUnknownUser) {
		return nil, &pageError{http.StatusUnauthorized, "Your session has ended; log in again"}
	}
	if err != nil {
		return nil, err
	}
	if p.Role != auth.RoleAdmin && p.Role != auth.RoleUser {
		return nil, forbidden("The console is for admin and user accounts")
	}
	return &session{username: p.Username, role: p.Role, principal: p, csrf: c.csrfToken(ck.Value)}, nil
}

func (c *Console) csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, c.o.CSRFKey)
	m.Write([]byte("console csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF refuses a POST without the session's token, in the form or
// (for fetch) in a header.
func (c *Console) checkCSRF(r *http.Request, s *session) error {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
		return forbidden("The form has expired or did not come from the console (CSRF token missing or wrong); reload the page")
	}
	return nil
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, and Secure
// whenever the request came over TLS (on a plain-HTTP development
// listener a Secure cookie would never come back: docs/decisions.md).
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

type loginData struct {
	Username     string
	MustChange   bool
	Error        string
	LoginToken   string
	PasswordHint string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request, _ *session) error {
	if s, err := c.session(r); err == nil && s != nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return nil
	}
	c.renderLogin(w, r, http.StatusOK, loginData{})
	return nil
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	raw := make([]byte, 24)
	rand.Read(raw)
	d.LoginToken = base64.RawURLEncoding.EncodeToString(raw)
	setCookie(w, r, loginCookie, d.LoginToken, 3600)
	c.render(w, r, nil, status, "login", d)
}

func (c *Console) login(w http.ResponseWriter, r *http.Request, _ *session) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		c.renderLogin(w, r, http.StatusForbidden, loginData{Error: "The login form has expired; try again"})
		return nil
	}
	key := throttleKey(r.RemoteAddr)
	if !c.loginFailures.Allow(key) {
		c.renderLogin(w, r, http.StatusTooManyRequests, loginData{Error: "Too many failed logins from your address; wait an hour"})
		return nil
	}
	failed := false
	defer func() {
		if !failed {
			c.loginFailures.Release(key)
		}
	}()
	username, password, newPassword := r.PostFormValue("username"), r.PostFormValue("password"), r.PostFormValue("new_password")
	user, err := c.o.Auth.CheckCredentials(r.Context(), username, password)
	if errors.Is(err, auth.ErrBadCredentials) {
		failed = true
		c.renderLogin(w, r, http.StatusUnauthorized, loginData{Username: username, Error: "Wrong user name or password"})
		return nil
	}
	if err != nil {
		return err
	}
	if user.PasswordChangeRequired && newPassword == "" {
		// The first login must set a new password, here as on the API.
		c.renderLogin(w, r, http.StatusUnauthorized, loginData{Username: username, MustChange: true,
			Error: "This password must be changed before the first login: choose a new one"})
		return nil
	}
	if newPassword != "" {
		err := c.o.Auth.ChangePassword(r.Context(), user.Username, newPassword, auth.Principal{})
		var ae *apierr.Error
		if errors.As(err, &ae) {
			c.renderLogin(w, r, http.StatusBadRequest, loginData{Username: username, MustChange: user.PasswordChangeRequired, Error: ae.Error()})
			return nil
		}
		if err != nil {
			return err
		}
	}
	token, _, err := c.o.Auth.IssueToken(r.Context(), user.Username)
	if err != nil {
		return err
	}
	setCookie(w, r, loginCookie, "", -1)
	setCookie(w, r, sessionCookie, token, 0)
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	return nil
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.o.Auth.Logout(r.Context(), s.principal); err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
	return nil
}

// throttleKey counts failed logins per address (per /64 for IPv6), as the
// API does.
func throttleKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.Is6() || addr.Is4In6() {
		return host
	}
	prefix, _ := addr.WithZone("").Prefix(64)
	return prefix.String()
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// formBool reads a checkbox or yes/no select.
func formBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "on", "true", "yes", "1":
		return true, true
	case "off", "false", "no", "0":
		return false, true
	}
	return false, false
}
