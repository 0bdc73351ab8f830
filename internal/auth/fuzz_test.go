package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// FuzzParseToken: bearer tokens are client input. A token is refused, or
// it is one we signed and names a user. The target signs what it is given
// (unless it is given a whole token), so the claims decoding behind the
// signature check is explored too.
func FuzzParseToken(f *testing.F) {
	key := []byte(strings.Repeat("k", 32))
	tok, err := signToken(key, "admin", time.Unix(1_700_000_000, 0), time.Unix(1_700_003_600, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"user":"admin","iat":1,"exp":2,"wa:rand":3}`), "")
	f.Add([]byte(`{"user":"","exp":-1}`), "")
	f.Add([]byte(`{"user":["x"]}`), "")
	f.Add([]byte(`null`), "")
	f.Add([]byte(nil), tok)
	f.Add([]byte(nil), tok+"x")
	f.Add([]byte(nil), jwtHeader+"..")
	f.Fuzz(func(t *testing.T, payload []byte, whole string) {
		token := whole
		if token == "" {
			unsigned := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
			token = unsigned + "." + base64.RawURLEncoding.EncodeToString(mac(key, unsigned))
		}
		c, err := parseToken(key, token)
		if err != nil {
			if err != errBadToken {
				t.Fatalf("error %v is not errBadToken", err)
			}
			return
		}
		if c.User == "" {
			t.Fatalf("token %q accepted without a user", token)
		}
	})
}
