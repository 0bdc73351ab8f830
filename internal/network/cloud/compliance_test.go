package cloud_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/profile"
)

func complianceFor(entityType string) network.ComplianceInfo {
	registered := false
	return network.ComplianceInfo{EntityName: "Lucky Shrub", EntityType: entityType, EntityTypeCustom: "Trust", IsRegistered: &registered,
		CustomerCare:     network.ComplianceContact{Email: "care@luckyshrub.example", MobileNumber: "+91 98765-43210"},
		GrievanceOfficer: network.ComplianceContact{Name: "Asha Rao", Email: "grievance@luckyshrub.example", LandlineNumber: "022 1234 5678"}}
}

func TestPublishComplianceInfo(t *testing.T) {
	f := setup(t)
	if err := f.net.PublishComplianceInfo(f.ctx, complianceFor("Other")); err != nil {
		t.Fatal(err)
	}
	want := `{"customer_care_details":{"email":"care@luckyshrub.example","mobile_number":"+919876543210"},"entity_name":"Lucky Shrub","entity_type":"OTHER",` +
		`"entity_type_custom":"Trust","grievance_officer_details":{"email":"grievance@luckyshrub.example","landline_number":"02212345678","name":"Asha Rao"},"is_registered":false}`
	if got := canonical(t, f.graph.Compliance()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if r := f.graph.Requests(); r[len(r)-1] != "POST /v21.0/"+f.graph.PhoneNumberID+"/business_compliance_info" {
		t.Fatalf("requests %v", r)
	}
	// Every type wabiz accepts is one the Cloud knows; the custom words
	// go with OTHER only, is_registered with OTHER and PARTNERSHIP only.
	for _, typ := range profile.EntityTypes {
		if err := f.net.PublishComplianceInfo(f.ctx, complianceFor(typ)); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		c := f.graph.Compliance()
		_, custom := c["entity_type_custom"]
		_, registered := c["is_registered"]
		if custom != (typ == "Other") || registered != (typ == "Other" || typ == "Partnership") {
			t.Errorf("%s went as %v", typ, c)
		}
	}
	// A type the Cloud does not know is refused without a call.
	calls := len(f.graph.Requests())
	wantNetErr(t, f.net.PublishComplianceInfo(f.ctx, complianceFor("Trust")), 1009, false)
	if len(f.graph.Requests()) != calls {
		t.Fatal("an unknown entity type reached the Cloud")
	}
	// A refusal is the network's error, and the Cloud keeps what it had.
	bad := complianceFor("Private Company")
	bad.GrievanceOfficer.Email = ""
	wantNetErr(t, f.net.PublishComplianceInfo(f.ctx, bad), 1009, false)
	if f.graph.Compliance()["entity_type"] != "OTHER" { // the last of profile.EntityTypes
		t.Fatalf("after a refusal the Cloud has %v", f.graph.Compliance())
	}
}

// TestGraphDoubleRefusesBadComplianceInfo: the double holds the bridge to
// what the Cloud's reference requires of business_compliance_info.
func TestGraphDoubleRefusesBadComplianceInfo(t *testing.T) {
	f := setup(t)
	const contacts = `"grievance_officer_details":{"name":"N","email":"g@x.example"},"customer_care_details":{"email":"c@x.example"}`
	for _, c := range []struct{ body, want string }{
		{`{"entity_name":"A","entity_type":"PRIVATE_COMPANY",` + contacts + `}`, "messaging_product is required"},
		{`{"messaging_product":"whatsapp","entity_type":"PRIVATE_COMPANY",` + contacts + `}`, "entity_name is required"},
		{`{"messaging_product":"whatsapp","entity_name":"A","entity_type":"PRIVATE_COMPANY","customer_care_details":{"email":"c@x.example"}}`, "grievance_officer_details is required"},
		{`{"messaging_product":"whatsapp","entity_name":"A","entity_type":"Private Company",` + contacts + `}`, "Param entity_type must be one of"},
		{`{"messaging_product":"whatsapp","entity_name":"A","entity_type":"OTHER","is_registered":true,` + contacts + `}`, "entity_type_custom is required when entity_type is OTHER"},
		{`{"messaging_product":"whatsapp","entity_name":"A","entity_type":"PARTNERSHIP",` + contacts + `}`, "is_registered is required when entity_type is OTHER or PARTNERSHIP"},
		{`{"messaging_product":"whatsapp","entity_name":"A","entity_type":"PARTNERSHIP","is_registered":"yes",` + contacts + `}`, "Param is_registered must be a boolean"},
		{`{"messaging_product":"whatsapp","entity_name":"A","entity_type":"PRIVATE_COMPANY","entity_kind":"x",` + contacts + `}`, "Unknown parameter entity_kind"},
		{`{"messaging_product":"whatsapp","entity_name":"A","entity_type":"PRIVATE_COMPANY","grievance_officer_details":{"name":"N"},"customer_care_details":{"email":"c@x.example"}}`,
			"grievance_officer_details[email] is required"},
		{`{"messaging_product":"whatsapp","entity_name":"A","entity_type":"PRIVATE_COMPANY","grievance_officer_details":{"name":"N","email":"g@x.example","mobile_number":"+91 98765 43210"},"customer_care_details":{"email":"c@x.example"}}`,
			"grievance_officer_details[mobile_number] must be a phone number"},
		{`{"messaging_product":"whatsapp","entity_name":"A","entity_type":"PRIVATE_COMPANY","grievance_officer_details":{"name":"N","email":"g@x.example"},"customer_care_details":{"email":"not an address"}}`,
			"customer_care_details[email] must be a valid email address"},
	} {
		req, _ := http.NewRequest("POST", f.graph.GraphURL()+"/"+f.graph.PhoneNumberID+"/business_compliance_info", strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+f.graph.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(answer), c.want) {
			t.Errorf("%s: %d %s, want 400 with %q", c.body, resp.StatusCode, answer, c.want)
		}
	}
	if f.graph.Compliance() != nil {
		t.Fatalf("a refused update was recorded: %v", f.graph.Compliance())
	}
}
