package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/wabiz/wabiz/docs"
)

// The OpenAPI description (docs/openapi.yaml) read as the JSON value a
// JSON Schema validator works on, with the helpers the tests in
// openapi_test.go share: JSON pointers into it, and its schemas compiled
// where they stand, so that their $refs resolve within the document.

// openAPIURL names the document for the schema compiler; nothing is fetched.
const openAPIURL = "https://wabiz.invalid/openapi.json"

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type openAPIDoc struct {
	root     map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex // the compiler is not safe for concurrent use
	compiled map[string]*jsonschema.Schema
}

// parseOpenAPI reads a description. yaml.v3 gives maps and ints; a round
// trip through JSON gives what the validator expects (json.Number).
func parseOpenAPI(text []byte) (*openAPIDoc, error) {
	var v any
	if err := yaml.Unmarshal(text, &v); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not JSON-compatible (a key that is not a string?): %w", err)
	}
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	root, ok := value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(openAPIURL, root); err != nil {
		return nil, err
	}
	return &openAPIDoc{root: root, compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
}

// embeddedOpenAPI is the served document, parsed once for every test.
var embeddedOpenAPI = sync.OnceValues(func() (*openAPIDoc, error) { return parseOpenAPI(docs.OpenAPI) })

func openAPI(t testing.TB) *openAPIDoc {
	t.Helper()
	d, err := embeddedOpenAPI()
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	return d
}

// pointer is the JSON pointer of a path of keys.
func pointer(keys ...string) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(k))
	}
	return b.String()
}

// resolve follows a JSON pointer ("#/a/b") from the root; ok is false when
// it leads nowhere.
func (d *openAPIDoc) resolve(ref string) (any, bool) {
	ptr, found := strings.CutPrefix(ref, "#")
	if !found {
		return nil, false
	}
	var cur any = d.root
	if ptr == "" {
		return cur, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// deref follows the $ref of a reference object (responses, parameters),
// with the pointer of what it reached.
func (d *openAPIDoc) deref(ptr string, v any) (string, map[string]any) {
	for range 10 {
		m, _ := v.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return ptr, m
		}
		ptr = strings.TrimPrefix(ref, "#")
		v, _ = d.resolve(ref)
	}
	return ptr, nil
}

// schemaAt compiles the schema at a JSON pointer of the document.
func (d *openAPIDoc) schemaAt(ptr string) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.compiled[ptr]; ok {
		return s, nil
	}
	s, err := d.compiler.Compile(openAPIURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	d.compiled[ptr] = s
	return s, nil
}

// operation is one method of a documented path (or webhook).
type operation struct {
	ptr    string // JSON pointer of the operation object
	method string // upper case
	path   string
	op     map[string]any
	item   map[string]any // the path item, for its parameters
}

// operations lists every operation of paths, then of webhooks.
func (d *openAPIDoc) operations() []operation {
	var out []operation
	for _, section := range []string{"paths", "webhooks"} {
		items, _ := d.root[section].(map[string]any)
		names := make([]string, 0, len(items))
		for name := range items {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			item, _ := items[name].(map[string]any)
			for _, m := range httpMethods {
				if op, ok := item[m].(map[string]any); ok {
					out = append(out, operation{ptr: pointer(section, name, m), method: strings.ToUpper(m), path: name, op: op, item: item})
				}
			}
		}
	}
	return out
}

// pathOperations is "METHOD /path" of every documented route, parameters
// written {}.
func (d *openAPIDoc) pathOperations() []string {
	var out []string
	for _, o := range d.operations() {
		if strings.HasPrefix(o.ptr, "/paths/") {
			out = append(out, o.method+" "+normalisePattern(o.path))
		}
	}
	return out
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// normalisePattern writes every path parameter as {}: the router and the
// document may name one differently ({pack} and {id} are the same route).
func normalisePattern(p string) string { return wildcard.ReplaceAllString(p, "{}") }

// matchPath finds the documented path a request path reaches: the one
// with the same segments, wildcards matching any, the most literal
// segments winning (as net/http's mux prefers the more specific pattern).
func (d *openAPIDoc) matchPath(path string) (string, bool) {
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	best, bestLiterals := "", -1
	paths, _ := d.root["paths"].(map[string]any)
	for p := range paths {
		ps := strings.Split(p, "/")
		if len(ps) != len(segs) {
			continue
		}
		literals := 0
		for i := range ps {
			if strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}") {
				continue
			}
			if ps[i] != segs[i] {
				literals = -1
				break
			}
			literals++
		}
		if literals > bestLiterals {
			best, bestLiterals = p, literals
		}
	}
	return best, bestLiterals >= 0
}

// responseFor is the pointer of the response object an operation documents
// for a status (else its default), with the object.
func (d *openAPIDoc) responseFor(o operation, status int) (string, map[string]any, bool) {
	responses, _ := o.op["responses"].(map[string]any)
	for _, key := range []string{strconv.Itoa(status), fmt.Sprintf("%dXX", status/100), "default"} {
		if r, ok := responses[key]; ok {
			ptr, obj := d.deref(o.ptr+pointer("responses", key), r)
			return ptr, obj, obj != nil
		}
	}
	return "", nil, false
}

// mediaTypeFor is the key of content that a Content-Type header answers:
// the same type, or a wildcard.
func mediaTypeFor(content map[string]any, contentType string) (string, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	if _, ok := content[mt]; ok {
		return mt, true
	}
	major, _, _ := strings.Cut(mt, "/")
	for _, k := range []string{major + "/*", "*/*"} {
		if _, ok := content[k]; ok {
			return k, true
		}
	}
	return "", false
}
