package client

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestSandboxTemplates(t *testing.T) {
	const def = `{"namespace":"a1b2c3d4_e5f6_7a8b_9c0d_1e2f3a4b5c6d","name":"order update","language":"en_US","category":"UTILITY","status":"APPROVED","components":[{"type":"BODY","text":"Hi"}]}`
	one := `{"namespace":"a1b2c3d4_e5f6_7a8b_9c0d_1e2f3a4b5c6d","templates":[` + def + `],` + meta + `}`
	f := &fakeServer{}
	srv := httptest.NewServer(f.handler(routes{
		"GET /sandbox/v1/templates":                         {200, one},
		"POST /sandbox/v1/templates":                        {201, one},
		"PATCH /sandbox/v1/templates/order%20update/en_US":  {200, one},
		"DELETE /sandbox/v1/templates/order%20update/en_US": {200, `{` + meta + `}`},
	}))
	defer srv.Close()
	ctx := context.Background()
	c := New(srv.URL, WithToken("tok"))

	ns, list, err := c.SandboxTemplates(ctx)
	if err != nil || ns != "a1b2c3d4_e5f6_7a8b_9c0d_1e2f3a4b5c6d" || len(list) != 1 {
		t.Fatalf("SandboxTemplates = %q, %+v, %v", ns, list, err)
	}
	got := list[0]
	if got.Name != "order update" || got.Language != "en_US" || got.Category != "UTILITY" || got.Status != "APPROVED" || got.Namespace != ns {
		t.Errorf("template fields %+v", got)
	}
	// The whole definition survives, and marshals back as it came.
	if string(got.Definition) != def {
		t.Errorf("Definition = %s", got.Definition)
	}
	if b, _ := json.Marshal(got); string(b) != def {
		t.Errorf("marshalled %s", b)
	}

	added, err := c.SandboxAddTemplates(ctx, []json.RawMessage{json.RawMessage(`{"name":"x"}`), json.RawMessage(`{"name":"y"}`)})
	if err != nil || len(added) != 1 {
		t.Fatalf("SandboxAddTemplates = %+v, %v", added, err)
	}
	if sent := f.last(t); len(sent.body["templates"].([]any)) != 2 {
		t.Errorf("add sent %v", sent.body)
	}

	// Names travel path-escaped.
	if _, err := c.SandboxSetTemplateStatus(ctx, "order update", "en_US", "PAUSED"); err != nil {
		t.Fatal(err)
	}
	if sent := f.last(t); sent.method != "PATCH" || sent.body["status"] != "PAUSED" || len(sent.body) != 1 {
		t.Errorf("status change sent %s %v", sent.method, sent.body)
	}
	if err := c.SandboxDeleteTemplate(ctx, "order update", "en_US"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SandboxTemplate(ctx, "nope", "en"); err == nil {
		t.Error("GET of an unknown template succeeded")
	}
}
