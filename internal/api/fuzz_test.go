package api_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzLoginAndUsers drives the login, create-user and change-password
// handlers through the router with arbitrary bodies and credentials.
func FuzzLoginAndUsers(f *testing.F) {
	f.Add("admin", "secret", []byte(`{"new_password":"Admin#Pass1"}`), "application/json")
	f.Add("admin", "secret", []byte(`{"new_password":null}`), "application/json")
	f.Add("admin", "", []byte(`{"new_password":["x"]}`), "application/json")
	f.Add("ops:team", "pass", []byte(`{"username":"ops_team","password":"Passw0rd!"}`), "application/json")
	f.Add("", "", []byte(`{"username":{"a":1},"password":1.5}`), "application/json; charset=utf-8")
	f.Add("x", "y", []byte("{\"username\":\"\xc3\x28\"}"), "text/plain")
	f.Add("admin", "secret", []byte(`{"password":"`+strings.Repeat("A", 5000)+`"}`), "application/json")
	// One server for every input: a database per input would make the
	// fuzzer crawl. It lives as long as the fuzz target.
	h := &fuzzState{harness: sqliteHarness(f)}
	h.token = h.adminToken()
	h.createUser(h.token, "fuzz_user", "Passw0rd!")
	f.Fuzz(func(t *testing.T, user, pass string, body []byte, contentType string) {
		h.harness.t = t
		auth := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
		for _, req := range []request{
			{method: "POST", path: "/v1/users/login", header: auth, body: string(body), contentType: contentType},
			{method: "POST", path: "/v1/users", header: bearer(h.token), body: string(body), contentType: contentType},
			{method: "PUT", path: "/v1/users/fuzz_user", header: bearer(h.token), body: string(body), contentType: contentType},
			{method: "PATCH", path: "/v1/settings/application", header: bearer(h.token), body: string(body), contentType: contentType},
		} {
			res := h.do(req)
			if res.Status >= 500 && !strings.Contains(string(res.Raw), "Already exist?") {
				t.Fatalf("%s %s with %q: %d %s", req.method, req.path, body, res.Status, res.Raw)
			}
			var env map[string]json.RawMessage
			if json.Unmarshal(res.Raw, &env) != nil || env["meta"] == nil {
				t.Fatalf("not an envelope: %s", res.Raw)
			}
		}
	})
}

type fuzzState struct {
	*harness
	token string
}
