// Package auth holds users, passwords, tokens, the API key and login
// throttling: everything that decides who a request comes from and what that
// role may do.
package auth

import (
	"strings"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
)

// Roles, highest first. Only the built-in admin is ROLE_ADMIN; every created
// user is ROLE_USER; the API key authenticates the pseudo-user _apiuser.
const (
	RoleAdmin = "ROLE_ADMIN"
	RoleUser  = "ROLE_USER"
	RoleAPI   = "ROLE_API"

	AdminUsername   = "admin"
	APIUsername     = "_apiuser"
	DefaultPassword = "secret"
)

var roleRank = map[string]int{RoleAPI: 1, RoleUser: 2, RoleAdmin: 3}

// Satisfies reports whether role is at least required (ADMIN > USER > API).
func Satisfies(role, required string) bool {
	return roleRank[role] >= roleRank[required] && roleRank[role] > 0
}

// passwordSpecials are the only non-alphanumeric characters a password may hold.
const passwordSpecials = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// PasswordPolicyDetail is the documented 1009 detail text.
const PasswordPolicyDetail = "Password doesn't meet complexity requirements: length between 8 and 64 characters, " +
	"at least 1 each of upper-case character, lower-case character, digit, special character " +
	"(" + passwordSpecials + ") are required"

// CheckPassword enforces the complexity rule: 8–64 characters from letters,
// digits and the specials, with at least one of each class.
func CheckPassword(p string) *apierr.Error {
	if len(p) < 8 || len(p) > 64 || !utf8.ValidString(p) {
		return apierr.New(1009, PasswordPolicyDetail)
	}
	var lower, upper, digit, special bool
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r < utf8.RuneSelf && strings.ContainsRune(passwordSpecials, r):
			special = true
		default:
			return apierr.New(1009, PasswordPolicyDetail)
		}
	}
	if !(lower && upper && digit && special) {
		return apierr.New(1009, PasswordPolicyDetail)
	}
	return nil
}

// CheckUsername enforces the create-user rules in the order the Webapp
// checked them: reserved name, length in bytes, URL-safe characters.
func CheckUsername(u string) *apierr.Error {
	if u == APIUsername {
		return apierr.New(1009, "Invalid Username")
	}
	if len(u) < 4 || len(u) > 32 {
		return apierr.New(1009, "Username doesn't meet length requirements")
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		// The Webapp required urlencode(u) == u, which leaves exactly these.
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return apierr.New(1009, "Username contains prohibited characters")
		}
	}
	return nil
}
