package api_test

import (
	"strings"
	"testing"
)

func TestRequestBodyRules(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	lengthErr := e(1009, "Parameter value is not valid", "Username doesn't meet length requirements")
	cases := []struct {
		name        string
		body        string
		contentType string
		status      int
		want        errorItem
	}{
		// JSON is read only when the Content-Type starts with application/json;
		// otherwise the parameters are absent and the required-field rules fire.
		{"text/plain body ignored", `{"username":"ops_team","password":"Passw0rd!"}`, "text/plain", 400, lengthErr},
		{"uppercase type ignored", `{"username":"ops_team","password":"Passw0rd!"}`, "Application/JSON", 400, lengthErr},
		{"empty json body", "", "application/json", 400, lengthErr},
		{"array body is no params", `["ops_team"]`, "", 400, lengthErr},
		{"string body is no params", `"x"`, "", 400, lengthErr},
		{"malformed", `{"username":`, "", 400, e(1025, "Request is not valid", "Unable to decode the request: Syntax error")},
		{"trailing garbage", `{} x`, "", 400, e(1025, "Request is not valid", "Unable to decode the request: Syntax error")},
		{"bad utf-8", "{\"username\":\"\xff\xfe\"}", "", 400, e(1025, "Request is not valid", "Unable to decode the request: Malformed UTF-8 characters, possibly incorrectly encoded")},
		{"too large", `{"username":"` + strings.Repeat("a", 5000) + `"}`, "", 413, e(1025, "Request is not valid", "Request body is larger than 4096 bytes")},
		{"charset suffix accepted", `{"username":"ab"}`, "application/json; charset=utf-8", 400, lengthErr},
		{"non-string username", `{"username":12345,"password":"Passw0rd!"}`, "", 400, e(1009, "Parameter value is not valid", "Parameter 'username' has invalid value '12345'")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := h.do(request{method: "POST", path: "/v1/users", header: bearer(admin), body: c.body, contentType: c.contentType})
			expectError(t, res, c.status, c.want)
		})
	}
}
