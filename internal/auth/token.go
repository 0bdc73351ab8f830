package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Tokens are JWTs signed with HS256 and carrying the Webapp's claim names, so
// a client that decodes one (to read exp, say) keeps working. The signature
// only proves we issued it; the tokens table decides whether it is still valid.

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

type claims struct {
	User string `json:"user"`
	Iat  int64  `json:"iat"`
	Exp  int64  `json:"exp"`
	Rand int64  `json:"wa:rand"`
}

var errBadToken = errors.New("invalid token")

// clockSkew is how far past exp a token is still accepted (the Webapp's 600 s).
const clockSkew = 600 * time.Second

func signToken(key []byte, username string, issued, expires time.Time) (string, error) {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	body, err := json.Marshal(claims{User: username, Iat: issued.Unix(), Exp: expires.Unix(), Rand: int64(binary.BigEndian.Uint64(r[:]) >> 1)})
	if err != nil {
		return "", err
	}
	unsigned := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac(key, unsigned)), nil
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// parseToken checks the header and signature and returns the claims; it does
// not look at expiry or the database.
func parseToken(key []byte, token string) (claims, error) {
	header, rest, ok := strings.Cut(token, ".")
	if !ok || header != jwtHeader {
		return claims{}, errBadToken
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return claims{}, errBadToken
	}
	gotSig, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(gotSig, mac(key, header+"."+payload)) {
		return claims{}, errBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return claims{}, errBadToken
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil || c.User == "" {
		return claims{}, errBadToken
	}
	return c, nil
}

// tokenHash is how a token is stored and looked up.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
