package api_test

import "testing"

// TestLegacyRoutes: the v2.2x message routes answer as that Webapp did
// (spec §5.3); the removed Groups API and the database-migration route are
// unknown paths (spec §13). Every route with and without a trailing slash.
func TestLegacyRoutes(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	auth := bearer(h.adminToken())
	missing := e(1008, "Required parameter is missing", "Atleast one of the following parameters must be present: 'age', 'before'")
	both := e(1010, "Parameter is not required", "Exactly one of the following parameters must be present: 'age', 'before'")
	notFound := e(1006, "Resource not found", "URL path not found")
	for _, slash := range []string{"", "/"} {
		for _, c := range []struct {
			method, path, body string
			status             int
			want               []errorItem // nil: an empty success
		}{
			{"GET", "/v1/messages/gBGGFVUAAREfAglKfBnisF2PMxE", "", 200, nil},
			{"DELETE", "/v1/messages/gBGGFVUAAREfAglKfBnisF2PMxE", "", 200, nil},
			{"DELETE", "/v1/messages", `{"age":86400}`, 200, nil},
			{"DELETE", "/v1/messages", `{"before":1700000000}`, 200, nil},
			{"DELETE", "/v1/messages", `{}`, 400, []errorItem{missing}},
			{"DELETE", "/v1/messages", "", 400, []errorItem{missing}},
			{"DELETE", "/v1/messages", `{"age":1,"before":2}`, 400, []errorItem{both}},
			{"DELETE", "/v1/messages", `{"age":"old"}`, 400, []errorItem{e(1009, "Parameter value is not valid", `Parameter 'age' has invalid value '"old"'`)}},
			{"DELETE", "/v1/messages", `{"before":-5}`, 400, []errorItem{e(1009, "Parameter value is not valid", "Parameter 'before' has invalid value '-5'")}},
			{"GET", "/v1/groups", "", 404, []errorItem{notFound}},
			{"POST", "/v1/groups", `{"subject":"x"}`, 404, []errorItem{notFound}},
			{"GET", "/v1/groups/123-456", "", 404, []errorItem{notFound}},
			{"POST", "/v1/groups/123-456/leave", "", 404, []errorItem{notFound}},
			{"GET", "/v1/groups/123-456/invite", "", 404, []errorItem{notFound}},
			{"POST", "/v1/admin/database/migrate", `{"database_engine":"mysql"}`, 404, []errorItem{notFound}},
		} {
			t.Run(c.method+" "+c.path+slash, func(t *testing.T) {
				res := h.do(request{method: c.method, path: c.path + slash, header: auth, body: c.body})
				if c.want == nil {
					if res.Status != c.status || string(res.Raw) != emptyMeta {
						t.Fatalf("%d %s", res.Status, res.Raw)
					}
					return
				}
				expectError(t, res, c.status, c.want...)
			})
		}
	}
	// The no-ops still need credentials, like every /v1 route.
	if res := h.do(request{method: "GET", path: "/v1/messages/x"}); res.Status != 401 {
		t.Fatalf("no credentials: %d %s", res.Status, res.Raw)
	}
	// Sending and marking read are unaffected by the extra methods.
	if res := h.do(request{method: "PATCH", path: "/v1/messages/x", header: auth}); res.Status != 405 {
		t.Fatalf("PATCH: %d %s", res.Status, res.Raw)
	}
}
