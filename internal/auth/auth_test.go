package auth

import (
	"strings"
	"testing"
	"time"
)

func TestCheckPassword(t *testing.T) {
	good := []string{"Aa1!Aa1!", "Passw0rd!", strings.Repeat("Aa1~", 16), "Zz9\"quote", "Back\\slash1", "a`B2{}|~x"}
	bad := []string{"", "Aa1!Aa1", strings.Repeat("Aa1!", 16) + "x", "alllower1!", "ALLUPPER1!", "NoDigits!!", "NoSpecial12",
		"Has Space1!", "Tab\tTab1!", "Ünïcode1!", "Emoji😀1a!", "Aa1!\x00Aa1!"}
	for _, p := range good {
		if err := CheckPassword(p); err != nil {
			t.Errorf("%q rejected: %v", p, err)
		}
	}
	for _, p := range bad {
		err := CheckPassword(p)
		if err == nil {
			t.Errorf("%q accepted", p)
			continue
		}
		if err.Code() != 1009 || err.Details[0].Details != PasswordPolicyDetail {
			t.Errorf("%q: %v", p, err)
		}
	}
}

func TestCheckUsername(t *testing.T) {
	cases := map[string]string{
		"ops_team":              "",
		"a.b-c":                 "",
		strings.Repeat("x", 32): "",
		"_apiuser":              "Invalid Username",
		"abc":                   "Username doesn't meet length requirements",
		strings.Repeat("x", 33): "Username doesn't meet length requirements",
		"":                      "Username doesn't meet length requirements",
		"with space":            "Username contains prohibited characters",
		"tilde~me":              "Username contains prohibited characters",
		"plus+me":               "Username contains prohibited characters",
		"ünï":                   "Username contains prohibited characters", // 4+ bytes, so the charset rule answers
	}
	for name, want := range cases {
		err := CheckUsername(name)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q rejected: %v", name, err)
		case want != "" && (err == nil || err.Details[0].Details != want):
			t.Errorf("%q: got %v, want %q", name, err, want)
		}
	}
}

func TestSatisfies(t *testing.T) {
	for _, c := range []struct {
		role, required string
		ok             bool
	}{
		{RoleAdmin, RoleAdmin, true}, {RoleAdmin, RoleUser, true}, {RoleAdmin, RoleAPI, true},
		{RoleUser, RoleAdmin, false}, {RoleUser, RoleUser, true}, {RoleUser, RoleAPI, true},
		{RoleAPI, RoleUser, false}, {RoleAPI, RoleAPI, true}, {"", RoleAPI, false}, {"ROLE_OTHER", RoleAPI, false},
	} {
		if got := Satisfies(c.role, c.required); got != c.ok {
			t.Errorf("Satisfies(%s, %s) = %v", c.role, c.required, got)
		}
	}
}

func TestLimiterWindows(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(3, time.Minute, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if !l.Allow("a") {
			t.Fatalf("call %d refused", i)
		}
	}
	if l.Allow("a") || !l.Exceeded("a") {
		t.Fatal("fourth call allowed")
	}
	if !l.Allow("b") {
		t.Fatal("keys are not independent")
	}
	now = now.Add(59 * time.Second)
	if l.Allow("a") {
		t.Fatal("window ended early")
	}
	now = now.Add(time.Second)
	if !l.Allow("a") || l.Exceeded("a") {
		t.Fatal("window did not reset")
	}
	// Stale keys are swept, so the map cannot grow without bound.
	for i := 0; i < 1000; i++ {
		l.Add(string(rune('A' + i%50)))
	}
	now = now.Add(2 * time.Minute)
	l.Exceeded("x")
	if n := len(l.windows); n != 0 {
		t.Fatalf("%d stale windows kept", n)
	}
	if off := NewLimiter(0, time.Minute, time.Now); !off.Allow("a") || off.Exceeded("a") {
		t.Fatal("a zero limit must disable the limiter")
	}
}

func TestLimiterRelease(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(2, time.Minute, func() time.Time { return now })
	l.Allow("a")
	l.Allow("a")
	if l.Allow("a") {
		t.Fatal("third call allowed")
	}
	l.Release("a")
	if !l.Allow("a") || l.Allow("a") {
		t.Fatal("a released event must free exactly one place")
	}
	// Nothing to give back: no window, or an empty one.
	l.Release("b")
	now = now.Add(time.Minute)
	l.Release("a")
	if !l.Allow("a") || !l.Allow("a") || l.Allow("a") {
		t.Fatal("release into a new window changed its count")
	}
	NewLimiter(0, time.Minute, time.Now).Release("a") // a disabled limiter ignores it
}

func TestTokenRoundTripAndTampering(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	issued := time.Unix(1_700_000_000, 0)
	tok, err := signToken(key, "admin", issued, issued.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseToken(key, tok)
	if err != nil || c.User != "admin" || c.Iat != issued.Unix() || c.Exp != issued.Add(time.Hour).Unix() {
		t.Fatalf("claims %+v, %v", c, err)
	}
	parts := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"other key":  mustSign(t, []byte(strings.Repeat("z", 32))),
		"no dots":    "abc",
		"two parts":  parts[0] + "." + parts[1],
		"alg none":   "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".",
		"bad base64": parts[0] + "." + parts[1] + ".***",
		"swapped":    parts[0] + "." + parts[1] + "x." + parts[2],
	} {
		if _, err := parseToken(key, bad); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if tokenHash(tok) == tokenHash(tok+"x") || len(tokenHash(tok)) != 64 {
		t.Fatal("token hash")
	}
}

func mustSign(t *testing.T, key []byte) string {
	tok, err := signToken(key, "admin", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
