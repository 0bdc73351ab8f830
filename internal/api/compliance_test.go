package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// fullComplianceInfo is a complete POST body for a partnership.
const fullComplianceInfo = `{"entity_name":"Lucky Shrub","entity_type":"Partnership","entity_type_custom":"Registered partnership firm","is_registered":true,` +
	`"customer_care_details":{"email":"support@luckyshrub.example","landline_number":"+91 (22) 1234 5678","mobile_number":"+91 98765-43210"},` +
	`"grievance_officer_details":{"name":"Chandravati P.","email":"grievance@luckyshrub.example","landline_number":"+912212345679","mobile_number":"+919876543211"}}`

const emptyComplianceInfoJSON = `{"settings":{"business":{"compliance_info":{"entity_name":"","entity_type":"","entity_type_custom":"","is_registered":false,` +
	`"customer_care_details":{"email":"","landline_number":"","mobile_number":""},` +
	`"grievance_officer_details":{"name":"","email":"","landline_number":"","mobile_number":""}}}},"meta":`

func (h *harness) complianceInfo(token string) string {
	h.t.Helper()
	res := h.do(request{method: "GET", path: "/v1/settings/business/compliance_info", header: bearer(token)})
	if res.Status != 200 {
		h.t.Fatalf("GET compliance_info: %d %s", res.Status, res.Raw)
	}
	return string(res.Raw)
}

func (h *harness) postComplianceInfo(token, body string) {
	h.t.Helper()
	res := h.do(request{method: "POST", path: "/v1/settings/business/compliance_info", header: bearer(token), body: body})
	if res.Status != 200 || string(res.Raw) != `{"meta":{"api_status":"stable","version":"v2.51.2"}}`+"\n" {
		h.t.Fatalf("POST compliance_info %s: %d %s", body, res.Status, res.Raw)
	}
}

// complianceInfoErrors are the answers to bad POST bodies on a server that
// holds no compliance information yet: first each field on its own, then
// what a whole information lacks.
var complianceInfoErrors = []struct {
	body string
	want []errorItem
}{
	{`{"entity_name":5}`, []errorItem{invalid("Parameter 'entity_name' has invalid value '5'")}},
	{`{"entity_name":"` + strings.Repeat("n", 129) + `"}`, []errorItem{invalid("Parameter 'entity_name' is too long: at most 128 characters")}},
	{`{"entity_type":"LLP"}`, []errorItem{invalid("Parameter 'entity_type' has invalid value 'LLP'")}},
	{`{"entity_type":"PRIVATE_COMPANY"}`, []errorItem{invalid("Parameter 'entity_type' has invalid value 'PRIVATE_COMPANY'")}},
	{`{"entity_type":"private company"}`, []errorItem{invalid("Parameter 'entity_type' has invalid value 'private company'")}},
	{`{"entity_type_custom":["Trust"]}`, []errorItem{invalid(`Parameter 'entity_type_custom' has invalid value '["Trust"]'`)}},
	{`{"is_registered":"yes"}`, []errorItem{invalid(`Parameter 'is_registered' has invalid value '"yes"'`)}},
	{`{"is_registered":1}`, []errorItem{invalid("Parameter 'is_registered' has invalid value '1'")}},
	{`{"customer_care_details":"support@luckyshrub.example"}`, []errorItem{invalid(`Parameter 'customer_care_details' has invalid value '"support@luckyshrub.example"'`)}},
	{`{"grievance_officer_details":[{"name":"C"}]}`, []errorItem{invalid(`Parameter 'grievance_officer_details' has invalid value '[{"name":"C"}]'`)}},
	{`{"customer_care_details":{"email":"not-an-email"}}`, []errorItem{invalid("Parameter 'customer_care_details.email' has invalid value 'not-an-email'")}},
	{`{"grievance_officer_details":{"email":"Chandravati <c@luckyshrub.example>"}}`, []errorItem{invalid("Parameter 'grievance_officer_details.email' has invalid value 'Chandravati <c@luckyshrub.example>'")}},
	{`{"customer_care_details":{"email":"` + strings.Repeat("e", 120) + `@example.com"}}`, []errorItem{invalid("Parameter 'customer_care_details.email' is too long: at most 128 characters")}},
	{`{"grievance_officer_details":{"name":"` + strings.Repeat("é", 129) + `"}}`, []errorItem{invalid("Parameter 'grievance_officer_details.name' is too long: at most 128 characters")}},
	{`{"grievance_officer_details":{"name":true}}`, []errorItem{invalid("Parameter 'grievance_officer_details.name' has invalid value 'true'")}},
	{`{"customer_care_details":{"mobile_number":"98765"}}`, []errorItem{invalid("Parameter 'customer_care_details.mobile_number' has invalid value '98765'")}},
	{`{"customer_care_details":{"mobile_number":"+1234567890123456"}}`, []errorItem{invalid("Parameter 'customer_care_details.mobile_number' has invalid value '+1234567890123456'")}},
	{`{"customer_care_details":{"landline_number":"022-1234-567x"}}`, []errorItem{invalid("Parameter 'customer_care_details.landline_number' has invalid value '022-1234-567x'")}},
	{`{"grievance_officer_details":{"mobile_number":"91+9876543210"}}`, []errorItem{invalid("Parameter 'grievance_officer_details.mobile_number' has invalid value '91+9876543210'")}},
	{`{"grievance_officer_details":{"landline_number":2212345678}}`, []errorItem{invalid("Parameter 'grievance_officer_details.landline_number' has invalid value '2212345678'")}},
	{`{"grievance_officer_details":{"landline_number":"` + strings.Repeat("1 ", 16) + `1"}}`, []errorItem{invalid("Parameter 'grievance_officer_details.landline_number' is too long: at most 32 characters")}},
	// Every field error at once, in the order of the fields.
	{`{"is_registered":"no","customer_care_details":{"email":"x"},"entity_type":"X","entity_name":1}`, []errorItem{
		invalid("Parameter 'entity_name' has invalid value '1'"), invalid("Parameter 'entity_type' has invalid value 'X'"),
		invalid("Parameter 'customer_care_details.email' has invalid value 'x'"), invalid(`Parameter 'is_registered' has invalid value '"no"'`)}},
	// Nothing stored yet: the information must be whole.
	{`{}`, []errorItem{missing("entity_name"), missing("entity_type"), missing("customer_care_details.email"),
		missing("grievance_officer_details.name"), missing("grievance_officer_details.email")}},
	{`{"entity_name":"","entity_type":"Public Company","customer_care_details":{"email":"c@x.example"},"grievance_officer_details":{"name":"N","email":"g@x.example"}}`,
		[]errorItem{missing("entity_name")}},
	{withCompliance(`"entity_type":"Other","entity_type_custom":null,"is_registered":false`), []errorItem{
		e(1008, "Required parameter is missing", "Parameter 'entity_type_custom' is mandatory for entity_type 'Other'")}},
	{withCompliance(`"entity_type":"Partnership","entity_type_custom":"","is_registered":null`), []errorItem{
		e(1008, "Required parameter is missing", "Parameter 'entity_type_custom' is mandatory for entity_type 'Partnership'"),
		e(1008, "Required parameter is missing", "Parameter 'is_registered' is mandatory for entity_type 'Partnership'")}},
	{withCompliance(`"entity_type":"Private Company","entity_type_custom":"Trust"`), []errorItem{
		e(1010, "Parameter is not required", "Parameter 'entity_type_custom' is not required for entity_type 'Private Company'")}},
}

func invalid(details string) errorItem { return e(1009, "Parameter value is not valid", details) }
func missing(name string) errorItem {
	return e(1008, "Required parameter is missing", "Missing mandatory parameter '"+name+"'")
}

// withCompliance is fullComplianceInfo with its entity keys replaced by
// entity (a list of "key":value pairs).
func withCompliance(entity string) string {
	var m map[string]json.RawMessage
	json.Unmarshal([]byte(fullComplianceInfo), &m)
	delete(m, "entity_type")
	delete(m, "entity_type_custom")
	delete(m, "is_registered")
	b, _ := json.Marshal(m)
	return "{" + entity + "," + string(b[1:])
}

// TestComplianceInfo: GET and POST /v1/settings/business/compliance_info
// through the router on each engine: what GET answers before anything was
// set, every refusal with its exact text (and nothing stored by it),
// partial updates, the information kept across a restart on the same
// database, and admin only.
func TestComplianceInfo(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		if got := h.complianceInfo(admin); !strings.HasPrefix(got, emptyComplianceInfoJSON) {
			t.Fatalf("before anything was set: %s", got)
		}
		for _, c := range complianceInfoErrors {
			expectError(t, h.do(request{method: "POST", path: "/v1/settings/business/compliance_info", header: bearer(admin), body: c.body}), 400, c.want...)
		}
		if got := h.complianceInfo(admin); !strings.HasPrefix(got, emptyComplianceInfoJSON) {
			t.Fatalf("a refused POST stored something: %s", got)
		}

		h.postComplianceInfo(admin, fullComplianceInfo)
		want := `{"settings":{"business":{"compliance_info":{"entity_name":"Lucky Shrub","entity_type":"Partnership","entity_type_custom":"Registered partnership firm","is_registered":true,` +
			`"customer_care_details":{"email":"support@luckyshrub.example","landline_number":"+91 (22) 1234 5678","mobile_number":"+91 98765-43210"},` +
			`"grievance_officer_details":{"name":"Chandravati P.","email":"grievance@luckyshrub.example","landline_number":"+912212345679","mobile_number":"+919876543211"}}}},"meta":`
		if got := h.complianceInfo(admin); !strings.HasPrefix(got, want) {
			t.Fatalf("after POST:\n got %s\nwant %s", got, want)
		}

		// Partial updates: the fields given replace the stored ones, inside
		// the contact objects too; "" clears an optional field; a type that
		// takes no custom words drops the stored ones.
		h.postComplianceInfo(admin, `{"customer_care_details":{"mobile_number":""},"grievance_officer_details":{"name":"Asha Rao"},"unknown":1}`)
		h.postComplianceInfo(admin, `{"entity_type":"Sole proprietorship","is_registered":false}`)
		want = `{"settings":{"business":{"compliance_info":{"entity_name":"Lucky Shrub","entity_type":"Sole proprietorship","entity_type_custom":"","is_registered":false,` +
			`"customer_care_details":{"email":"support@luckyshrub.example","landline_number":"+91 (22) 1234 5678","mobile_number":""},` +
			`"grievance_officer_details":{"name":"Asha Rao","email":"grievance@luckyshrub.example","landline_number":"+912212345679","mobile_number":"+919876543211"}}}},"meta":`
		if got := h.complianceInfo(admin); !strings.HasPrefix(got, want) {
			t.Fatalf("after partial updates:\n got %s\nwant %s", got, want)
		}
		// Against what is stored: a custom type is refused for a sole
		// proprietorship, a required field cannot be cleared, and Other
		// needs its words.
		for _, c := range []struct {
			body string
			want errorItem
		}{
			{`{"entity_type_custom":"Trust"}`, e(1010, "Parameter is not required", "Parameter 'entity_type_custom' is not required for entity_type 'Sole proprietorship'")},
			{`{"grievance_officer_details":{"email":""}}`, missing("grievance_officer_details.email")},
			{`{"entity_type":"Other"}`, e(1008, "Required parameter is missing", "Parameter 'entity_type_custom' is mandatory for entity_type 'Other'")},
			{`{"entity_name":"Renamed","customer_care_details":{"email":"bad"}}`, invalid("Parameter 'customer_care_details.email' has invalid value 'bad'")},
		} {
			expectError(t, h.do(request{method: "POST", path: "/v1/settings/business/compliance_info", header: bearer(admin), body: c.body}), 400, c.want)
		}
		if got := h.complianceInfo(admin); !strings.HasPrefix(got, want) {
			t.Fatalf("a refused update changed the information:\n got %s\nwant %s", got, want)
		}
		h.postComplianceInfo(admin, `{}`) // nothing to change, and the stored information is whole

		// Admin only, as every /v1/settings path.
		user := h.createUser(admin, "alice", "Alice#Pass1")
		for _, r := range []request{
			{method: "GET", path: "/v1/settings/business/compliance_info"},
			{method: "POST", path: "/v1/settings/business/compliance_info", body: fullComplianceInfo},
		} {
			r.header = bearer(user)
			expectError(t, h.do(r), 403, e(1005, "Access denied", "User doesn't have permission"))
		}

		// A restart on the same database serves it again.
		h.store.Close()
		again := newHarness(t, cfg)
		if got := again.complianceInfo(again.login("admin", testAdminPassword)); !strings.HasPrefix(got, want) {
			t.Fatalf("after a restart:\n got %s\nwant %s", got, want)
		}
	})
}

// TestCloudPublishesComplianceInfo: in cloud mode a POST goes to the
// Cloud's business_compliance_info with the Cloud's entity type and
// phone numbers without separators; a call the Cloud refuses or that
// fails leaves the information stored in wabiz, with a warning.
func TestCloudPublishesComplianceInfo(t *testing.T) {
	t.Parallel()
	graph := graphtest.New(t)
	h := sqliteHarness(t, withCloud(graph))
	admin := h.adminToken()
	h.postComplianceInfo(admin, fullComplianceInfo)
	// A partnership's own words stay in wabiz: the Cloud takes
	// entity_type_custom with OTHER only.
	want := `{"customer_care_details":{"email":"support@luckyshrub.example","landline_number":"+912212345678","mobile_number":"+919876543210"},` +
		`"entity_name":"Lucky Shrub","entity_type":"PARTNERSHIP",` +
		`"grievance_officer_details":{"email":"grievance@luckyshrub.example","landline_number":"+912212345679","mobile_number":"+919876543211","name":"Chandravati P."},` +
		`"is_registered":true}`
	if got := canonicalJSON(t, graph.Compliance()); got != want {
		t.Fatalf("the Cloud has\n %s\nwant %s", got, want)
	}
	h.postComplianceInfo(admin, `{"entity_type":"Other","entity_type_custom":"Trust","customer_care_details":{"landline_number":"","mobile_number":""}}`)
	want = `{"customer_care_details":{"email":"support@luckyshrub.example"},"entity_name":"Lucky Shrub","entity_type":"OTHER","entity_type_custom":"Trust",` +
		`"grievance_officer_details":{"email":"grievance@luckyshrub.example","landline_number":"+912212345679","mobile_number":"+919876543211","name":"Chandravati P."},` +
		`"is_registered":true}`
	if got := canonicalJSON(t, graph.Compliance()); got != want {
		t.Fatalf("the Cloud has\n %s\nwant %s", got, want)
	}

	for _, f := range []graphtest.Failure{
		{Code: 192, Message: "Invalid phone number"}, // a number the Cloud shows no compliance information for
		{HTTPStatus: 503, Raw: "<html>Service Unavailable</html>"},
	} {
		graph.FailNext(1, f)
		h.postComplianceInfo(admin, `{"entity_name":"Lucky Shrub Traders"}`)
		if got := h.complianceInfo(admin); !strings.Contains(got, `"entity_name":"Lucky Shrub Traders"`) {
			t.Fatalf("not kept in wabiz: %s", got)
		}
		if graph.Compliance()["entity_name"] != "Lucky Shrub" {
			t.Fatalf("the failed call changed the Cloud: %v", graph.Compliance())
		}
	}
	logged := h.logBuf.String()
	if n := strings.Count(logged, "level=WARN msg=\"the compliance information is kept by wabiz but was not published to the network\""); n != 2 {
		t.Fatalf("%d warnings, want 2:\n%s", n, logged)
	}
	if !strings.Contains(logged, "Cloud API error 192: (#192) Invalid phone number") || strings.Contains(logged, "level=ERROR") {
		t.Fatalf("log:\n%s", logged)
	}
	// The next change publishes the whole information again.
	h.postComplianceInfo(admin, `{"customer_care_details":{"mobile_number":"+91 90000 00001"}}`)
	if c := graph.Compliance(); c["entity_name"] != "Lucky Shrub Traders" || c["customer_care_details"].(map[string]any)["mobile_number"] != "+919000000001" {
		t.Fatalf("the Cloud has %v", c)
	}
	// A restore publishes the restored information.
	data := h.backup(t, admin, "s3cret pass")
	h.postComplianceInfo(admin, `{"entity_name":"Changed after the backup"}`)
	if res := h.do(request{method: "POST", path: "/v1/settings/restore", header: bearer(admin), body: `{"password":"s3cret pass","data":"` + data + `"}`}); res.Status != 200 {
		t.Fatalf("restore: %d %s", res.Status, res.Raw)
	}
	if c := graph.Compliance(); c["entity_name"] != "Lucky Shrub Traders" {
		t.Fatalf("after the restore the Cloud has %v", c)
	}
}

func canonicalJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
