package api_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
	"github.com/wabiz/wabiz/internal/template"
)

const templatesPath = "/sandbox/v1/templates"

var namespaceShape = regexp.MustCompile(`^[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}$`)

// orderUpdate is a definition as a user writes it: mixed case, components
// out of the canonical order, keys the sandbox does not keep ("example").
const orderUpdate = `{"name":"order_update","language":"en_US","category":"utility","status":"Approved","components":[
	{"type":"BODY","text":"Hi {{1}}, order {{2}} shipped.","example":{"body_text":[["Dana","8841"]]}},
	{"type":"header","format":"image"},
	{"type":"BUTTONS","buttons":[{"type":"URL","text":"Track","url":"https://shop.example.com/t/{{1}}"},{"type":"QUICK_REPLY","text":"Stop"}]}]}`

const orderUpdateCanonical = `{"name":"order_update","language":"en_US","category":"UTILITY","status":"APPROVED","components":[` +
	`{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"Hi {{1}}, order {{2}} shipped."},` +
	`{"type":"BUTTONS","buttons":[{"type":"URL","text":"Track","url":"https://shop.example.com/t/{{1}}"},{"type":"QUICK_REPLY","text":"Stop"}]}]}`

func simpleTemplate(name, lang string) string {
	return `{"name":"` + name + `","language":"` + lang + `","category":"UTILITY","components":[{"type":"BODY","text":"Hello"}]}`
}

// templatesOf decodes a catalogue answer.
func templatesOf(t *testing.T, res response) (string, []map[string]any) {
	t.Helper()
	var v struct {
		Namespace string           `json:"namespace"`
		Templates []map[string]any `json:"templates"`
	}
	if err := json.Unmarshal(res.Raw, &v); err != nil || v.Templates == nil {
		t.Fatalf("not a template answer: %s", res.Raw)
	}
	return v.Namespace, v.Templates
}

// withNamespace is a canonical definition as the API shows it.
func withNamespace(ns, canonical string) string {
	return `{"namespace":"` + ns + `",` + canonical[1:]
}

func TestSandboxTemplatesCRUD(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		do := func(method, path, body string) response {
			return h.do(request{method: method, path: path, body: body, header: bearer(admin)})
		}

		// An empty catalogue has a namespace already, and keeps it.
		res := do("GET", templatesPath, "")
		if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"namespace":"`) || !strings.Contains(string(res.Raw), `"templates":[],"meta":`) {
			t.Fatalf("empty catalogue: %d %s", res.Status, res.Raw)
		}
		ns, _ := templatesOf(t, res)
		if !namespaceShape.MatchString(ns) {
			t.Fatalf("namespace %q is not shaped like WhatsApp's", ns)
		}

		// One definition: stored canonical, shown with the namespace.
		res = do("POST", templatesPath, orderUpdate)
		want := `{"namespace":"` + ns + `","templates":[` + withNamespace(ns, orderUpdateCanonical) + `],"meta":`
		if res.Status != 201 || !strings.HasPrefix(string(res.Raw), want) {
			t.Fatalf("add: %d %s\nwant prefix %s", res.Status, res.Raw, want)
		}

		// Several at once, in the wrapper.
		res = do("POST", templatesPath, `{"templates":[`+simpleTemplate("welcome", "en")+`,`+simpleTemplate("welcome", "de")+`]}`)
		if _, list := templatesOf(t, res); res.Status != 201 || len(list) != 2 || list[1]["language"] != "de" || list[1]["status"] != "APPROVED" {
			t.Fatalf("add two: %d %s", res.Status, res.Raw)
		}

		// Listed by name, then language; the namespace has not moved.
		res = do("GET", templatesPath, "")
		got, list := templatesOf(t, res)
		if got != ns || len(list) != 3 {
			t.Fatalf("list: %s", res.Raw)
		}
		var order []string
		for _, tpl := range list {
			order = append(order, tpl["name"].(string)+"/"+tpl["language"].(string))
			if tpl["namespace"] != ns {
				t.Errorf("%v carries namespace %v", tpl["name"], tpl["namespace"])
			}
		}
		if strings.Join(order, " ") != "order_update/en_US welcome/de welcome/en" {
			t.Errorf("order %v", order)
		}

		res = do("GET", templatesPath+"/order_update/en_US", "")
		if res.Status != 200 || !strings.HasPrefix(string(res.Raw), want) {
			t.Fatalf("get one: %d %s", res.Status, res.Raw)
		}

		// The network port hands the core the same catalogue: the
		// definition without the namespace, which travels beside it.
		nt, err := h.sandbox.Templates(context.Background())
		if err != nil || len(nt) != 3 {
			t.Fatalf("Templates = %+v, %v", nt, err)
		}
		if o := nt[0]; o.Namespace != ns || o.Name != "order_update" || o.Language != "en_US" || o.Category != "utility" || o.Status != "approved" ||
			string(o.Body) != orderUpdateCanonical {
			t.Errorf("network template %+v (%s)", o, o.Body)
		}
		// What the core does with it: the definition parses back.
		if d, perr := template.ParseDefinition(nt[0].Body, nt[0].Namespace); perr != nil || d.Namespace != ns || string(d.Raw) != orderUpdateCanonical {
			t.Errorf("stored definition does not parse back: %v", perr)
		}

		// A partial update: status only, then the content.
		res = do("PATCH", templatesPath+"/order_update/en_US", `{"status":"PAUSED","ignored":1}`)
		if _, l := templatesOf(t, res); res.Status != 200 || l[0]["status"] != "PAUSED" || l[0]["category"] != "UTILITY" {
			t.Fatalf("pause: %d %s", res.Status, res.Raw)
		}
		res = do("PATCH", templatesPath+"/welcome/de", `{"category":"MARKETING","components":[{"type":"BODY","text":"Hallo {{1}}"}]}`)
		wantDE := withNamespace(ns, `{"name":"welcome","language":"de","category":"MARKETING","status":"APPROVED","components":[{"type":"BODY","text":"Hallo {{1}}"}]}`)
		if res.Status != 200 || !strings.Contains(string(res.Raw), `"templates":[`+wantDE+`]`) {
			t.Fatalf("edit: %d %s", res.Status, res.Raw)
		}
		if nt, _ := h.sandbox.Templates(context.Background()); nt[0].Status != "paused" || nt[1].Category != "marketing" {
			t.Errorf("after updates the network has %+v", nt)
		}

		res = do("DELETE", templatesPath+"/welcome/en", "")
		if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"meta":`) {
			t.Fatalf("delete: %d %s", res.Status, res.Raw)
		}
		if _, list := templatesOf(t, do("GET", templatesPath, "")); len(list) != 2 {
			t.Fatalf("after delete %d templates", len(list))
		}
		if got, _ := templatesOf(t, do("GET", templatesPath, "")); got != ns {
			t.Fatalf("namespace changed from %s to %s", ns, got)
		}
	})
}

func TestSandboxTemplateErrors(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	do := func(method, path, body string) response {
		return h.do(request{method: method, path: path, body: body, header: bearer(admin)})
	}
	ns, _ := templatesOf(t, do("GET", templatesPath, ""))
	if res := do("POST", templatesPath, simpleTemplate("welcome", "en")); res.Status != 201 {
		t.Fatalf("add: %d %s", res.Status, res.Raw)
	}
	count := func() int {
		_, list := templatesOf(t, do("GET", templatesPath, ""))
		return len(list)
	}

	exists := e(1004, "Resource already exists", "Template welcome (en) already exists")
	expectError(t, do("POST", templatesPath, simpleTemplate("welcome", "en")), 409, exists)
	// A batch is all or none: the new template before the duplicate is not kept.
	expectError(t, do("POST", templatesPath, `{"templates":[`+simpleTemplate("fresh", "en")+`,`+simpleTemplate("welcome", "en")+`]}`), 409, exists)
	expectError(t, do("POST", templatesPath, `{"templates":[`+simpleTemplate("twice", "en")+`,`+simpleTemplate("twice", "en")+`]}`), 409,
		e(1004, "Resource already exists", "Template twice (en) already exists"))
	if n := count(); n != 1 {
		t.Fatalf("refused batches left %d templates", n)
	}

	// Invalid definitions get the parser's errors; in a batch of several,
	// each says which definition it is about.
	bad := `{"name":"Bad Name","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Hi"}]}`
	_, parserErr := template.ParseDefinition(json.RawMessage(bad), ns)
	if parserErr == nil {
		t.Fatal("the parser accepts the bad definition")
	}
	var want []errorItem
	for _, d := range parserErr.Details {
		want = append(want, e(d.Code, d.Title, d.Details))
	}
	expectError(t, do("POST", templatesPath, bad), parserErr.Status, want...)
	expectError(t, do("POST", templatesPath, bad), 400, e(1009, "Parameter value is not valid", "Parameter 'name' has invalid value 'Bad Name'"))
	expectError(t, do("POST", templatesPath, `{"templates":[`+simpleTemplate("fresh", "en")+`,`+bad+`]}`), 400,
		e(1009, "Parameter value is not valid", "templates[1]: Parameter 'name' has invalid value 'Bad Name'"))
	// An empty body is an empty definition: the parser lists what it lacks.
	_, emptyErr := template.ParseDefinition(json.RawMessage(`{}`), ns)
	if res := do("POST", templatesPath, ""); res.Status != 400 || len(res.errorsList()) != len(emptyErr.Details) || res.errorsList()[0].Code != 1008 {
		t.Fatalf("empty body: %d %s", res.Status, res.Raw)
	}
	expectError(t, do("POST", templatesPath, `{"templates":"welcome"}`), 400, e(1009, "Parameter value is not valid", "Parameter 'templates' has invalid value 'welcome'"))
	expectError(t, do("POST", templatesPath, `{"templates":[]}`), 400, e(1009, "Parameter value is not valid", "Parameter 'templates' has invalid value '[]'"))
	expectError(t, do("POST", templatesPath, `{"name":`), 400, e(1025, "Request is not valid", "Unable to decode the request: Syntax error"))
	if n := count(); n != 1 {
		t.Fatalf("refused requests left %d templates", n)
	}

	unknown := e(1006, "Resource not found", "Template nope (en) not found")
	expectError(t, do("GET", templatesPath+"/nope/en", ""), 404, unknown)
	expectError(t, do("PATCH", templatesPath+"/nope/en", `{"status":"PAUSED"}`), 404, unknown)
	expectError(t, do("DELETE", templatesPath+"/nope/en", ""), 404, unknown)
	expectError(t, do("DELETE", templatesPath+"/welcome/fr", ""), 404, e(1006, "Resource not found", "Template welcome (fr) not found"))

	expectError(t, do("PATCH", templatesPath+"/welcome/en", `{"name":"renamed"}`), 400, e(1009, "Parameter value is not valid", "No valid parameters provided"))
	expectError(t, do("PATCH", templatesPath+"/welcome/en", `{"status":"SHINY"}`), 400, e(1009, "Parameter value is not valid", "Parameter 'status' has invalid value 'SHINY'"))
	expectError(t, do("PATCH", templatesPath+"/welcome/en", `{"components":[]}`), 400, e(1008, "Required parameter is missing", "Parameter 'components' must have exactly one BODY component; it has none"))
	if res := do("GET", templatesPath+"/welcome/en", ""); !strings.Contains(string(res.Raw), `"status":"APPROVED"`) {
		t.Fatalf("a refused update changed the template: %s", res.Raw)
	}

	expectError(t, do("PUT", templatesPath+"/welcome/en", simpleTemplate("welcome", "en")), 405, e(1014, "Internal error", ""))
	expectError(t, do("DELETE", templatesPath, ""), 405, e(1014, "Internal error", ""))

	// Only the admin drives the sandbox.
	user := h.createUser(admin, "ops_team", "Passw0rd!")
	forbidden := e(1005, "Access denied", "User doesn't have permission")
	expectError(t, h.do(request{method: "GET", path: templatesPath, header: bearer(user)}), 403, forbidden)
	expectError(t, h.do(request{method: "POST", path: templatesPath, header: bearer(user), body: simpleTemplate("x", "en")}), 403, forbidden)
	expectError(t, h.do(request{method: "DELETE", path: templatesPath + "/welcome/en", header: bearer(user)}), 403, forbidden)
}

// TestSandboxTemplateSample: the sample file in docs loads, through the
// API and as WABIZ_SANDBOX_TEMPLATES seeds it, and seeding again with an
// edited file replaces rather than duplicates.
func TestSandboxTemplateSample(t *testing.T) {
	t.Parallel()
	const sample = "../../docs/examples/sandbox-templates.json"
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	h := sqliteHarness(t, withDeps(func(d *api.Deps) { d.MaxBodyBytes = 1 << 20 }))
	admin := h.adminToken()
	res := h.do(request{method: "POST", path: templatesPath, body: string(data), header: bearer(admin)})
	_, list := templatesOf(t, res)
	if res.Status != 201 || len(list) != 3 {
		t.Fatalf("sample through the API: %d %s", res.Status, res.Raw)
	}
	categories := map[string]string{}
	for _, tpl := range list {
		categories[tpl["name"].(string)] = tpl["category"].(string)
	}
	if categories["order_update"] != "UTILITY" || categories["appointment_reminder"] != "UTILITY" || categories["login_code"] != "AUTHENTICATION" {
		t.Errorf("sample categories %v", categories)
	}

	ctx := context.Background()
	fresh := sandbox.New(storetest.Open(t, store.SQLite), nil)
	defs, err := sandbox.ReadTemplateFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	if added, replaced, err := fresh.SeedTemplates(ctx, defs); err != nil || added != 3 || replaced != 0 {
		t.Fatalf("first seed: %d added, %d replaced, %v", added, replaced, err)
	}
	defs[1] = json.RawMessage(strings.Replace(string(defs[1]), `"APPROVED"`, `"PAUSED"`, 1))
	if added, replaced, err := fresh.SeedTemplates(ctx, defs); err != nil || added != 0 || replaced != 3 {
		t.Fatalf("second seed: %d added, %d replaced, %v", added, replaced, err)
	}
	if got, err := fresh.Template(ctx, "appointment_reminder", "en_US"); err != nil || got.Status != "paused" {
		t.Fatalf("edited template after reseeding: %+v, %v", got, err)
	}
}

func TestSandboxTemplateFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb := sandbox.New(storetest.Open(t, store.SQLite), nil)
	one, two := simpleTemplate("a", "en"), simpleTemplate("b", "en")
	for _, tt := range []struct{ name, file, err string }{
		{"array", `[` + one + `,` + two + `]`, ""},
		{"wrapper", "\xef\xbb\xbf" + `{"templates":[` + one + `]}`, ""},
		{"single definition", one, ""},
		{"empty", " \n", "the file is empty"},
		{"not JSON", "name: a", "not JSON: expected an array of template definitions or an object"},
		{"bad wrapper", `{"templates":{}}`, `"templates" must be an array of template definitions`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defs, err := sandbox.DecodeTemplateFile([]byte(tt.file))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := sb.SeedTemplates(ctx, defs); err != nil {
				t.Fatal(err)
			}
		})
	}

	// A bad template names itself by position, name and language; nothing
	// of the file is stored.
	bad := `{"name":"c","language":"en","category":"SOMETIMES","components":[{"type":"BODY","text":"x"}]}`
	_, _, err := sb.SeedTemplates(ctx, []json.RawMessage{json.RawMessage(simpleTemplate("new", "en")), json.RawMessage(bad)})
	if err == nil || err.Error() != "template 2 (c, en): Parameter 'category' has invalid value 'SOMETIMES' (1009)" {
		t.Fatalf("bad template: %v", err)
	}
	_, _, err = sb.SeedTemplates(ctx, []json.RawMessage{json.RawMessage(one), json.RawMessage(two), json.RawMessage(one)})
	if err == nil || err.Error() != "template 3 (a, en): the same name and language as template 1" {
		t.Fatalf("repeated template: %v", err)
	}
	if _, err := sb.Template(ctx, "new", "en"); err == nil {
		t.Fatal("a refused file was partly stored")
	}
}
