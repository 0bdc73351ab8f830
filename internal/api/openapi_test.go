package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wabiz/wabiz/docs"
	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/console"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
)

// The OpenAPI description and the server are held together: every route
// served is documented and nothing else, the document is well formed, its
// examples fit its schemas, and real answers (and webhook bodies) fit them.

// notDescribed is the one prefix the server serves that the document
// leaves out: the console's HTML pages, which are no API.
const notDescribed = console.Prefix

// servedRoutes is every route a node declares on either network, with
// every optional service, by "METHOD /pattern" with parameters as {}.
func servedRoutes(t *testing.T) map[string]api.Route {
	served := map[string]api.Route{}
	for _, h := range []*harness{sqliteHarness(t), sqliteHarness(t, withCloud(graphtest.New(t)))} {
		for _, rt := range h.srv.DeclaredRoutes() {
			served[rt.Method+" "+normalisePattern(rt.Pattern)] = rt
		}
	}
	return served
}

// routeProblems compares the document with the routes served: each
// problem is a sentence naming the route.
func routeProblems(d *openAPIDoc, served map[string]api.Route) []string {
	var problems []string
	documented := map[string]operation{}
	for _, o := range d.operations() {
		if strings.HasPrefix(o.ptr, "/paths/") {
			documented[o.method+" "+normalisePattern(o.path)] = o
		}
	}
	for key, rt := range served {
		o, ok := documented[key]
		if !ok {
			problems = append(problems, key+" is served but not documented")
			continue
		}
		problems = append(problems, accessProblems(d, key, rt, o)...)
	}
	for key := range documented {
		if _, ok := served[key]; !ok {
			problems = append(problems, key+" is documented but not served")
		}
		if strings.HasPrefix(strings.TrimPrefix(key, strings.Fields(key)[0]+" "), notDescribed) {
			problems = append(problems, key+" is documented, but the console is left out of the document")
		}
	}
	slices.Sort(problems)
	return problems
}

// accessProblems checks that an operation says how the route authenticates
// (its security) and the role it needs (x-wabiz-role) as the route declares.
func accessProblems(d *openAPIDoc, key string, rt api.Route, o operation) []string {
	wantRole, wantSchemes := rt.Role, []string{"bearerAuth"}
	switch {
	case rt.Auth == api.AuthNone:
		wantRole, wantSchemes = "none", nil
	case rt.Auth != api.AuthToken: // HTTP Basic, the login
		wantSchemes = []string{"basicAuth"}
	case rt.Role == auth.RoleAPI:
		wantSchemes = []string{"apiKey", "bearerAuth"}
	}
	var problems []string
	if got, _ := o.op["x-wabiz-role"].(string); got != wantRole {
		problems = append(problems, fmt.Sprintf("%s: x-wabiz-role %q, the route needs %q", key, got, wantRole))
	}
	security, ok := o.op["security"]
	if !ok {
		security = d.root["security"]
	}
	var schemes []string
	list, _ := security.([]any)
	for _, req := range list {
		for name := range req.(map[string]any) {
			schemes = append(schemes, name)
		}
	}
	slices.Sort(schemes)
	if !slices.Equal(schemes, wantSchemes) {
		problems = append(problems, fmt.Sprintf("%s: security %v, the route takes %v", key, schemes, wantSchemes))
	}
	return problems
}

func TestOpenAPIDescribesEveryRouteAndNoOther(t *testing.T) {
	t.Parallel()
	served := servedRoutes(t)
	if len(served) < 80 {
		t.Fatalf("only %d routes served: the harnesses lack a service", len(served))
	}
	for _, p := range routeProblems(openAPI(t), served) {
		t.Error(p)
	}
	// The console is served beside the API, not by it: the exclusion is
	// of exactly its routes, and the document says so.
	for key := range served {
		if strings.Contains(key, " "+notDescribed) {
			t.Errorf("%s is an API route under the console's prefix", key)
		}
	}
	h := sqliteHarness(t)
	w := httptest.NewRecorder()
	h.node.HTTP.ServeHTTP(w, httptest.NewRequest("GET", notDescribed+"/", nil))
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET %s/ answers %d %s: is the console still what the document leaves out?", notDescribed, w.Code, ct)
	}
	info, _ := openAPI(t).root["info"].(map[string]any)
	if desc, _ := info["description"].(string); !strings.Contains(desc, "`"+notDescribed+"`") {
		t.Errorf("info.description does not say that %s is left out", notDescribed)
	}
}

// TestRouteComparisonFindsDrift: the comparison above fails on a route
// served without documentation, on one documented without being served,
// and on a wrong role or security.
func TestRouteComparisonFindsDrift(t *testing.T) {
	t.Parallel()
	served := servedRoutes(t)

	withoutHealth := bytes.Replace(docs.OpenAPI, []byte("  /v1/health:\n"), []byte("  /v1/health-renamed:\n"), 1)
	d, err := parseOpenAPI(withoutHealth)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(routeProblems(d, served), "\n")
	for _, want := range []string{"GET /v1/health is served but not documented", "GET /v1/health-renamed is documented but not served"} {
		if !strings.Contains(got, want) {
			t.Errorf("a renamed path: problems %q lack %q", got, want)
		}
	}

	lessServed := map[string]api.Route{}
	for k, v := range served {
		if k != "DELETE /v1/media/{}" {
			lessServed[k] = v
		}
	}
	if got := routeProblems(openAPI(t), lessServed); !slices.Equal(got, []string{"DELETE /v1/media/{} is documented but not served"}) {
		t.Errorf("a route no longer served: %q", got)
	}

	wrongRole := bytes.Replace(docs.OpenAPI, []byte("operationId: deleteUser\n      summary: Delete a user and revoke its tokens (not admin)\n      x-wabiz-role: ROLE_ADMIN"),
		[]byte("operationId: deleteUser\n      summary: Delete a user and revoke its tokens (not admin)\n      x-wabiz-role: ROLE_USER"), 1)
	if d, err = parseOpenAPI(wrongRole); err != nil {
		t.Fatal(err)
	}
	if got := routeProblems(d, served); !slices.Equal(got, []string{`DELETE /v1/users/{}: x-wabiz-role "ROLE_USER", the route needs "ROLE_ADMIN"`}) {
		t.Errorf("a wrong role: %q", got)
	}
}

// TestOpenAPIIsWellFormed checks the structure OpenAPI 3.1 requires of what
// the document uses: every $ref resolves, every operation has a unique
// operationId and responses with descriptions, path parameters match the
// path's wildcards, security names declared schemes, and every schema
// compiles as JSON Schema 2020-12.
func TestOpenAPIIsWellFormed(t *testing.T) {
	t.Parallel()
	d := openAPI(t)
	if d.root["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", d.root["openapi"])
	}
	info, _ := d.root["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Error("info needs title and version")
	}
	refs := 0
	walk(d.root, "", func(ptr string, m map[string]any) {
		if ref, ok := m["$ref"].(string); ok {
			refs++
			if _, ok := d.resolve(ref); !ok || !strings.HasPrefix(ref, "#/") {
				t.Errorf("%s: $ref %q does not resolve", ptr, ref)
			}
		}
	})
	if refs < 100 {
		t.Errorf("only %d $refs: is the walk finding them?", refs)
	}

	schemes, _ := d.root["components"].(map[string]any)["securitySchemes"].(map[string]any)
	ids := map[string]string{}
	ops := d.operations()
	if len(ops) < 80 {
		t.Fatalf("only %d operations", len(ops))
	}
	for _, o := range ops {
		name := o.method + " " + o.path
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", name)
		} else if other, dup := ids[id]; dup {
			t.Errorf("%s: operationId %s is also %s's", name, id, other)
		}
		ids[id] = name
		responses, _ := o.op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", name)
		}
		for _, code := range sortedKeys(responses) {
			if !regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`).MatchString(code) {
				t.Errorf("%s: response key %q", name, code)
			}
			if _, r := d.deref("", responses[code]); r == nil || r["description"] == nil {
				t.Errorf("%s: response %s has no description", name, code)
			}
		}
		security, ok := o.op["security"].([]any)
		if !ok {
			security, _ = d.root["security"].([]any)
		}
		for _, req := range security {
			for scheme := range req.(map[string]any) {
				if schemes[scheme] == nil {
					t.Errorf("%s: security scheme %s is not declared", name, scheme)
				}
			}
		}
		checkPathParameters(t, d, o)
	}

	// Each schema compiles, which checks it against the 2020-12 metaschema.
	schemas := 0
	walk(d.root, "", func(ptr string, m map[string]any) {
		if s, ok := m["schema"].(map[string]any); ok && !strings.Contains(ptr, "/properties/") {
			_ = s
			schemas++
			if _, err := d.schemaAt(ptr + "/schema"); err != nil {
				t.Errorf("%s/schema: %v", ptr, err)
			}
		}
	})
	components, _ := d.root["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range sortedKeys(components) {
		schemas++
		if _, err := d.schemaAt(pointer("components", "schemas", name)); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}
	if schemas < 150 {
		t.Errorf("only %d schemas compiled", schemas)
	}
}

// checkPathParameters: each {name} of a path is a required path parameter
// of the operation or its path item, and there are no others.
func checkPathParameters(t *testing.T, d *openAPIDoc, o operation) {
	t.Helper()
	if !strings.HasPrefix(o.ptr, "/paths/") {
		return
	}
	var want []string
	for _, m := range wildcard.FindAllString(o.path, -1) {
		want = append(want, strings.Trim(m, "{}"))
	}
	var got []string
	for _, list := range []any{o.item["parameters"], o.op["parameters"]} {
		params, _ := list.([]any)
		for _, p := range params {
			_, param := d.deref("", p)
			if param == nil {
				t.Errorf("%s %s: a parameter does not resolve", o.method, o.path)
				continue
			}
			if param["in"] == "path" {
				got = append(got, param["name"].(string))
				if param["required"] != true {
					t.Errorf("%s %s: path parameter %v must be required", o.method, o.path, param["name"])
				}
			}
			if param["schema"] == nil {
				t.Errorf("%s %s: parameter %v has no schema", o.method, o.path, param["name"])
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("%s %s: path parameters %v, the path has %v", o.method, o.path, got, want)
	}
}

// walk calls fn on every object of v, with its JSON pointer.
func walk(v any, ptr string, fn func(ptr string, m map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(ptr, x)
		for _, k := range sortedKeys(x) {
			walk(x[k], ptr+pointer(k), fn)
		}
	case []any:
		for i, e := range x {
			walk(e, fmt.Sprintf("%s/%d", ptr, i), fn)
		}
	}
}

// TestOpenAPIExamplesFitTheirSchemas validates every example of the
// document: those of media types and parameters against their schema, and
// the `examples` of a schema against the schema itself.
func TestOpenAPIExamplesFitTheirSchemas(t *testing.T) {
	t.Parallel()
	d := openAPI(t)
	checked := 0
	check := func(schemaPtr, where string, value any) {
		checked++
		s, err := d.schemaAt(schemaPtr)
		if err != nil {
			t.Errorf("%s: schema %s: %v", where, schemaPtr, err)
			return
		}
		if err := s.Validate(value); err != nil {
			t.Errorf("%s does not fit its schema: %v", where, err)
		}
	}
	walk(d.root, "", func(ptr string, m map[string]any) {
		if _, ok := m["schema"]; !ok {
			return
		}
		if strings.Contains(ptr, "/properties/") {
			return // a property named "schema" would not be a media type
		}
		if ex, ok := m["example"]; ok {
			check(ptr+"/schema", ptr+"/example", ex)
		}
		examples, _ := m["examples"].(map[string]any)
		for _, name := range sortedKeys(examples) {
			_, ex := d.deref("", examples[name])
			if v, ok := ex["value"]; ok {
				check(ptr+"/schema", ptr+pointer("examples", name), v)
			}
		}
	})
	// Schema examples: an array of instances, JSON Schema's own keyword.
	components, _ := d.root["components"].(map[string]any)
	walk(components, "/components", func(ptr string, m map[string]any) {
		if examples, ok := m["examples"].([]any); ok && m["type"] != nil {
			for i, ex := range examples {
				check(ptr, fmt.Sprintf("%s/examples/%d", ptr, i), ex)
			}
		}
	})
	if checked < 50 {
		t.Errorf("only %d examples checked", checked)
	}

	// And a wrong example would be found.
	s, err := d.schemaAt(pointer("components", "schemas", "ErrorResponse"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Validate(map[string]any{"meta": map[string]any{"api_status": "stable", "version": "v2"}, "errors": []any{map[string]any{"title": "no code"}}}) == nil {
		t.Error("an error without its code fits ErrorResponse")
	}
}

// answerChecker validates real answers against the operation the document
// gives their method and path.
type answerChecker struct {
	t        *testing.T
	doc      *openAPIDoc
	checked  map[string]bool // "METHOD /documented/path status"
	requests int             // accepted request bodies checked
}

func newAnswerChecker(t *testing.T) *answerChecker {
	return &answerChecker{t: t, doc: openAPI(t), checked: map[string]bool{}}
}

// check validates one answer: the status is documented (or a default
// covers it), the content type is one the response lists, and a JSON body
// fits its schema.
func (c *answerChecker) check(method, path string, status int, contentType string, body []byte) {
	c.t.Helper()
	path, _, _ = strings.Cut(path, "?")
	name := fmt.Sprintf("%s %s -> %d", method, path, status)
	documented, ok := c.doc.matchPath(path)
	if !ok {
		if status == http.StatusNotFound {
			// An unknown path: the envelope, as every error.
			c.fits(name, pointer("components", "schemas", "ErrorResponse"), body)
			return
		}
		c.t.Errorf("%s: no documented path", name)
		return
	}
	var op *operation
	for _, o := range c.doc.operations() {
		if o.path == documented && o.method == method && strings.HasPrefix(o.ptr, "/paths/") {
			op = &o
			break
		}
	}
	if op == nil {
		if status == http.StatusMethodNotAllowed {
			c.fits(name, pointer("components", "schemas", "ErrorResponse"), body)
			return
		}
		c.t.Errorf("%s: %s %s is not documented", name, method, documented)
		return
	}
	c.checked[fmt.Sprintf("%s %s %d", method, documented, status)] = true
	ptr, response, ok := c.doc.responseFor(*op, status)
	if !ok {
		c.t.Errorf("%s: status not documented for %s %s", name, method, documented)
		return
	}
	content, _ := response["content"].(map[string]any)
	if len(body) == 0 && len(content) == 0 {
		return
	}
	mt, ok := mediaTypeFor(content, contentType)
	if !ok {
		c.t.Errorf("%s: Content-Type %q is not among %v", name, contentType, sortedKeys(content))
		return
	}
	if mt == "application/json" {
		c.fits(name, ptr+pointer("content", mt, "schema"), body)
	}
}

// fits validates a JSON body against the schema at ptr.
func (c *answerChecker) fits(name, ptr string, body []byte) {
	c.t.Helper()
	s, err := c.doc.schemaAt(ptr)
	if err != nil {
		c.t.Errorf("%s: schema %s: %v", name, ptr, err)
		return
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		c.t.Errorf("%s: not JSON: %q", name, body)
		return
	}
	if err := s.Validate(v); err != nil {
		c.t.Errorf("%s: %s does not fit the document: %v", name, truncate(body), err)
	}
}

// accepted validates the JSON body of a request the server accepted (2xx)
// against the operation's request body: what the server takes, the
// document must admit.
func (c *answerChecker) accepted(method, path string, body []byte) {
	c.t.Helper()
	path, _, _ = strings.Cut(path, "?")
	documented, _ := c.doc.matchPath(path)
	for _, o := range c.doc.operations() {
		if o.path != documented || o.method != method || !strings.HasPrefix(o.ptr, "/paths/") {
			continue
		}
		if _, ok := o.op["requestBody"]; !ok {
			c.t.Errorf("%s %s: accepted a body, and the document has none", method, path)
			return
		}
		c.requests++
		c.fits(fmt.Sprintf("request %s %s", method, path), o.ptr+pointer("requestBody", "content", "application/json", "schema"), body)
	}
}

// do sends a request through the harness and checks its answer (and, when
// it was accepted, its JSON body).
func (c *answerChecker) do(h *harness, req request) response {
	c.t.Helper()
	res := h.do(req)
	c.check(req.method, req.path, res.Status, res.Header.Get("Content-Type"), res.Raw)
	if res.Status/100 == 2 && req.body != "" && req.contentType == "" {
		c.accepted(req.method, req.path, []byte(req.body))
	}
	return res
}

// raw sends a request whose answer need not be JSON and checks it.
func (c *answerChecker) raw(h *harness, method, path, contentType, body string, header map[string]string) *httptest.ResponseRecorder {
	c.t.Helper()
	w := h.raw(method, path, contentType, strings.NewReader(body), header)
	c.check(method, path, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
	return w
}

// notification validates a webhook body against the document's webhook.
func (c *answerChecker) notification(body []byte) {
	c.t.Helper()
	c.fits("webhook "+truncate(body), pointer("webhooks", "notification", "post", "requestBody", "content", "application/json", "schema"), body)
}

func TestServedOpenAPIIsTheDocument(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	for _, path := range []string{"/v1/openapi.yaml", "/v1/openapi.yaml/"} {
		w := h.raw("GET", path, "", nil, nil) // no credentials
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/yaml" || !bytes.Equal(w.Body.Bytes(), docs.OpenAPI) {
			t.Errorf("GET %s: %d %q, %d bytes of %d", path, w.Code, w.Header().Get("Content-Type"), w.Body.Len(), len(docs.OpenAPI))
		}
	}
	if w := h.raw("HEAD", "/v1/openapi.yaml", "", nil, nil); w.Code != 200 {
		t.Errorf("HEAD: %d", w.Code)
	}
	// A valid token changes nothing; a wrong one is not even looked at.
	if w := h.raw("GET", "/v1/openapi.yaml", "", nil, bearer("not-a-token")); w.Code != 200 {
		t.Errorf("with a wrong token: %d", w.Code)
	}
	if res := h.do(request{method: "POST", path: "/v1/openapi.yaml"}); res.Status != 405 {
		t.Errorf("POST: %d %s", res.Status, res.Raw)
	}
}

// jsonBody is v as JSON, for request bodies built in a test.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
