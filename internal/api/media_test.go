package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// raw sends a request with any body (a reader, possibly without a known
// length) and returns the recorder: downloads are not JSON.
func (h *harness) raw(method, path, contentType string, body io.Reader, header map[string]string) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(method, path, body)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

// asResponse decodes a JSON answer of raw for expectError.
func asResponse(t *testing.T, w *httptest.ResponseRecorder) response {
	t.Helper()
	res := response{Status: w.Code, Header: w.Header(), Raw: w.Body.Bytes()}
	if err := json.Unmarshal(res.Raw, &res.Body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", w.Code, res.Raw)
	}
	return res
}

var mediaIDPattern = regexp.MustCompile(`^\{"media":\[\{"id":"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"\}\],"meta":\{"api_status":"stable","version":"v2.51.2"\}\}` + "\n$")

// upload posts data and returns the new media id.
func (h *harness) upload(token, contentType string, data []byte, header map[string]string) string {
	h.t.Helper()
	hdr := bearer(token)
	for k, v := range header {
		hdr[k] = v
	}
	w := h.raw("POST", "/v1/media", contentType, bytes.NewReader(data), hdr)
	m := mediaIDPattern.FindSubmatch(w.Body.Bytes())
	if w.Code != 201 || m == nil {
		h.t.Fatalf("upload: %d %s", w.Code, w.Body.Bytes())
	}
	return string(m[1])
}

// volumeFiles lists the regular files of the media volume but the ones
// the server ships (the first-party stickers, on every volume).
func volumeFiles(t *testing.T, svc *media.Service) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(svc.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if m, err := svc.Get(context.Background(), d.Name()); err == nil && m.Origin == store.MediaOriginBuiltIn {
			return nil
		}
		files = append(files, path)
		return nil
	})
	return files
}

const emptyMeta = `{"meta":{"api_status":"stable","version":"v2.51.2"}}` + "\n"

func TestMediaUploadDownloadDelete(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		user := h.createUser(h.adminToken(), "media_user", "Passw0rd!")
		video, _ := media.Sample(media.KindVideo)
		id := h.upload(user, "video/mp4", video, nil)

		w := h.raw("GET", "/v1/media/"+id, "", nil, bearer(user))
		got := w.Body.Bytes()
		if w.Code != 200 || sha256.Sum256(got) != sha256.Sum256(video) {
			t.Fatalf("download: %d, %d bytes (uploaded %d)", w.Code, len(got), len(video))
		}
		sum := sha256.Sum256(video)
		for k, want := range map[string]string{
			"Content-Type":        "video/mp4",
			"Content-Length":      strconv.Itoa(len(video)),
			"Content-Disposition": `attachment; filename="` + id + `.mp4"`,
			"Accept-Ranges":       "bytes",
			"ETag":                `"` + hexString(sum[:]) + `"`,
		} {
			if v := w.Header().Get(k); v != want {
				t.Errorf("%s = %q, want %q", k, v, want)
			}
		}

		// Ranges, as players and resumable downloads use them.
		w = h.raw("GET", "/v1/media/"+id, "", nil, map[string]string{"Authorization": "Bearer " + user, "Range": "bytes=0-9"})
		if w.Code != 206 || !bytes.Equal(w.Body.Bytes(), video[:10]) || w.Header().Get("Content-Range") != "bytes 0-9/"+strconv.Itoa(len(video)) {
			t.Fatalf("range: %d %q %q", w.Code, w.Header().Get("Content-Range"), w.Body.Bytes())
		}
		w = h.raw("GET", "/v1/media/"+id, "", nil, map[string]string{"Authorization": "Bearer " + user, "Range": "bytes=-4"})
		if w.Code != 206 || !bytes.Equal(w.Body.Bytes(), video[len(video)-4:]) {
			t.Fatalf("suffix range: %d %q", w.Code, w.Body.Bytes())
		}
		w = h.raw("GET", "/v1/media/"+id, "", nil, map[string]string{"Authorization": "Bearer " + user, "Range": "bytes=99999-"})
		if w.Code != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("unsatisfiable range: %d", w.Code)
		}
		w = h.raw("HEAD", "/v1/media/"+id, "", nil, bearer(user))
		if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(video)) {
			t.Fatalf("HEAD: %d %d %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
		}

		// A name given on upload is the download's; the trailing-slash
		// spelling of the route works too.
		pdf, _ := media.Sample(media.KindDocument)
		w = h.raw("POST", "/v1/media/", "application/pdf", bytes.NewReader(pdf),
			map[string]string{"Authorization": "Bearer " + user, "Content-Disposition": `attachment; filename="Résumé \"final\".pdf"`})
		m := mediaIDPattern.FindSubmatch(w.Body.Bytes())
		if w.Code != 201 || m == nil {
			t.Fatalf("upload with a name: %d %s", w.Code, w.Body.Bytes())
		}
		w = h.raw("GET", "/v1/media/"+string(m[1]), "", nil, bearer(user))
		if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename="R__sum__ _final_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf` {
			t.Fatalf("Content-Disposition %q", cd)
		}

		res := h.do(request{method: "DELETE", path: "/v1/media/" + id, header: bearer(user)})
		if res.Status != 200 || string(res.Raw) != emptyMeta {
			t.Fatalf("delete: %d %s", res.Status, res.Raw)
		}
		notFound := e(1006, "Resource not found", "File with id "+id+" not found")
		expectError(t, asResponse(t, h.raw("GET", "/v1/media/"+id, "", nil, bearer(user))), 404, notFound)
		expectError(t, h.do(request{method: "DELETE", path: "/v1/media/" + id, header: bearer(user)}), 404, notFound)
		if files := volumeFiles(t, h.node.Media); len(files) != 1 {
			t.Fatalf("volume after delete: %v", files)
		}
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestMediaUploadErrors(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	auth := bearer(admin)
	post := func(contentType string, body io.Reader) response {
		t.Helper()
		return asResponse(t, h.raw("POST", "/v1/media", contentType, body, auth))
	}
	expectError(t, post("", strings.NewReader("hello")), 400, e(1008, "Required parameter is missing", "Content-Type missing"))
	expectError(t, post("image/jpeg", nil), 400, e(1008, "Required parameter is missing", "Request had no (empty) content"))
	expectError(t, post("jpeg", strings.NewReader("hello")), 400, e(1009, "Parameter value is not valid", "Content-Type 'jpeg' is not a valid media type"))
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 120)...)
	expectError(t, post("image/jpeg", bytes.NewReader(elf)), 400,
		e(1009, "Parameter value is not valid", "The media content is an executable program; executables are not accepted as media"))
	expectError(t, post("text/plain", strings.NewReader("#!/bin/sh\necho owned\n")), 400,
		e(1009, "Parameter value is not valid", "The media content is an executable program; executables are not accepted as media"))

	tooLarge := e(1009, "Parameter value is not valid", "Request content exceeds size of 100 MB")
	// A declared length over the limit is refused before anything is read.
	r := httptest.NewRequest("POST", "/v1/media", strings.NewReader("tiny"))
	r.Header.Set("Content-Type", "application/pdf")
	r.Header.Set("Authorization", "Bearer "+admin)
	r.ContentLength = media.MaxUploadBytes + 1
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	expectError(t, asResponse(t, w), 400, tooLarge)
	// Without a length (chunked), the limit holds while streaming, and the
	// partial file is gone afterwards.
	chunked := io.MultiReader(strings.NewReader("%PDF-1.4\n"), io.LimitReader(zeroReader{}, media.MaxUploadBytes-8))
	expectError(t, post("application/pdf", chunked), 400, tooLarge)
	if files := volumeFiles(t, h.node.Media); len(files) != 0 {
		t.Fatalf("files left after a refused upload: %v", files)
	}
	// Exactly 100 MiB is accepted; uploads are not held to the JSON body
	// limit (4096 bytes in the harness).
	exact := io.MultiReader(strings.NewReader("%PDF-1.4\n"), io.LimitReader(zeroReader{}, media.MaxUploadBytes-9))
	res := post("application/pdf", exact)
	if res.Status != 201 {
		t.Fatalf("100 MiB upload: %d %s", res.Status, res.Raw)
	}

	// Downloads of what does not exist.
	for _, id := range []string{"not-a-uuid", "0b8e6f3c-2f7a-4a4e-9a65-0c1d2e3f4a5b"} {
		expectError(t, asResponse(t, h.raw("GET", "/v1/media/"+id, "", nil, auth)), 404,
			e(1006, "Resource not found", "File with id "+id+" not found"))
	}
	pending, err := h.node.Media.CreatePending(context.Background(), media.KindImage, "image/jpeg", "net-1", "")
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, asResponse(t, h.raw("GET", "/v1/media/"+pending.ID, "", nil, auth)), 404,
		e(1006, "Resource not found", "File with id "+pending.ID+" is not downloaded yet: request the download with GET /v1/media/"+
			pending.ID+"/download, then fetch it again once a media_items notification reports it downloaded"))

	// Media needs credentials like every node.
	expectError(t, asResponse(t, h.raw("POST", "/v1/media", "image/png", strings.NewReader("x"), nil)), 401,
		e(1005, "Access denied", "Missing or invalid authentication credentials"))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// makeUnwritable takes write access to dir away, or skips the test when
// this process writes there anyway (root ignores permission bits; then the
// immutable attribute is tried).
func makeUnwritable(t *testing.T, dir string) {
	t.Helper()
	probe := func() bool {
		f, err := os.CreateTemp(dir, "probe-*")
		if err != nil {
			return false
		}
		f.Close()
		os.Remove(f.Name())
		return true
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if !probe() {
		return
	}
	if exec.Command("chattr", "+i", dir).Run() == nil {
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
		if !probe() {
			return
		}
	}
	t.Skip("the media directory stays writable for this user (root, no immutable attribute support): cannot test 403/1005 here")
}

func TestMediaDirectoryNotWritable(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	makeUnwritable(t, filepath.Join(h.node.Media.Dir(), "tmp"))
	png, _ := media.Sample(media.KindImage)
	expectError(t, asResponse(t, h.raw("POST", "/v1/media", "image/png", bytes.NewReader(png), bearer(admin))), 403,
		e(1005, "Access denied", "Media directory is not writable. Please check permissions"))
}

const providersPath = "/v1/settings/application/media/providers"

func TestMediaProviders(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		get := func() string {
			t.Helper()
			res := h.do(request{method: "GET", path: providersPath, header: bearer(admin)})
			if res.Status != 200 {
				t.Fatalf("GET: %d %s", res.Status, res.Raw)
			}
			return string(res.Raw)
		}
		post := func(body string) response {
			t.Helper()
			return h.do(request{method: "POST", path: providersPath, header: bearer(admin), body: body})
		}
		wrap := func(list string) string {
			return `{"settings":{"application":{"media":{"providers":` + list + `}}},"meta":{"api_status":"stable","version":"v2.51.2"}}` + "\n"
		}
		if got := get(); got != wrap(`[]`) {
			t.Fatalf("empty: %s", got)
		}
		for _, body := range []string{
			`[ { "name": "billing-cdn", "type": "www", "config": { "bearer": "tok_9f2c61" } } ]`,
			`[{"name":"intranet","type":"www","config":{"basic":{"username":"svc_wa","password":"S3cret!x"}}}]`,
		} {
			if res := post(body); res.Status != 200 || string(res.Raw) != emptyMeta {
				t.Fatalf("POST %s: %d %s", body, res.Status, res.Raw)
			}
		}
		// The spec's sample, secrets included.
		if got, want := get(), wrap(`[{"name":"billing-cdn","type":"www","config":{"bearer":"tok_9f2c61"}},`+
			`{"name":"intranet","type":"www","config":{"basic":{"username":"svc_wa","password":"S3cret!x"}}}]`); got != want {
			t.Fatalf("list:\n got %s\nwant %s", got, want)
		}
		// Same name overwrites, in place.
		post(`[{"name":"billing-cdn","type":"www","config":{"basic":{"username":"u","password":"p"}}}]`)
		if got := get(); !strings.Contains(got, `"providers":[{"name":"billing-cdn","type":"www","config":{"basic":{"username":"u","password":"p"}}},{"name":"intranet"`) {
			t.Fatalf("after overwrite: %s", got)
		}
		res := h.do(request{method: "DELETE", path: providersPath + "/billing-cdn", header: bearer(admin)})
		if res.Status != 200 || string(res.Raw) != emptyMeta {
			t.Fatalf("DELETE: %d %s", res.Status, res.Raw)
		}
		expectError(t, h.do(request{method: "DELETE", path: providersPath + "/billing-cdn", header: bearer(admin)}), 404,
			e(1006, "Resource not found", "Media provider 'billing-cdn' not found"))
		if got := get(); got != wrap(`[{"name":"intranet","type":"www","config":{"basic":{"username":"svc_wa","password":"S3cret!x"}}}]`) {
			t.Fatalf("after delete: %s", got)
		}
	})
}

func TestMediaProviderValidation(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	one := e(1009, "Parameter value is not valid", "Can only add 1 config at a time")
	missing := func(n string) errorItem {
		return e(1008, "Required parameter is missing", "Missing mandatory parameter '"+n+"'")
	}
	invalid := func(n, v string) errorItem {
		return e(1009, "Parameter value is not valid", "Parameter '"+n+"' has invalid value '"+v+"'")
	}
	atLeast := e(1008, "Required parameter is missing", "Atleast one of the following parameters must be present: 'basic', 'bearer'")
	exactly := e(1010, "Parameter is not required", "Exactly one of the following parameters must be present: 'basic', 'bearer'")
	for _, tc := range []struct {
		body, contentType string
		status            int
		want              []errorItem
	}{
		{`[{"name":"a","type":"www","config":{"bearer":"t"}}]`, "text/plain", 400, []errorItem{one}},
		{"", "application/json", 400, []errorItem{one}},
		{`{"name":"a","type":"www","config":{"bearer":"t"}}`, "", 400, []errorItem{one}},
		{`[]`, "", 400, []errorItem{one}},
		{`[{"name":"a","type":"www","config":{"bearer":"t"}},{"name":"b","type":"www","config":{"bearer":"t"}}]`, "", 400, []errorItem{one}},
		{`[{"name":`, "", 400, []errorItem{e(1025, "Request is not valid", "Unable to decode the request: Syntax error")}},
		{`[{}]`, "", 400, []errorItem{missing("name"), missing("type"), missing("config")}},
		{`[{"name":"no spaces","type":"www","config":{"bearer":"t"}}]`, "", 400, []errorItem{invalid("name", "no spaces")}},
		{`[{"name":"` + strings.Repeat("x", 201) + `","type":"www","config":{"bearer":"t"}}]`, "", 400, []errorItem{invalid("name", strings.Repeat("x", 201))}},
		{`[{"name":"a","type":"everstore","config":{"bearer":"t"}}]`, "", 400, []errorItem{invalid("type", "everstore")}},
		{`[{"name":"a","type":"www","config":[]}]`, "", 400, []errorItem{invalid("config", "[]")}},
		{`[{"name":"a","type":"www","config":{}}]`, "", 400, []errorItem{atLeast}},
		{`[{"name":"a","type":"www","config":{"bearer":"t","basic":{"username":"u","password":"p"}}}]`, "", 400, []errorItem{exactly}},
		{`[{"name":"a","type":"www","config":{"bearer":""}}]`, "", 400, []errorItem{invalid("bearer", "")}},
		{`[{"name":"a","type":"www","config":{"basic":{"username":"u"}}}]`, "", 400, []errorItem{missing("password")}},
		{`[{"name":"a","type":"www","config":{"basic":"u:p"}}]`, "", 400, []errorItem{invalid("basic", "u:p")}},
	} {
		res := h.do(request{method: "POST", path: providersPath, header: bearer(admin), body: tc.body, contentType: tc.contentType})
		expectError(t, res, tc.status, tc.want...)
	}
	// Nothing was stored by the refused requests.
	res := h.do(request{method: "GET", path: providersPath, header: bearer(admin)})
	if !strings.Contains(string(res.Raw), `"providers":[]`) {
		t.Fatalf("refused providers were stored: %s", res.Raw)
	}
	// Settings nodes are admin only.
	ops := h.createUser(admin, "ops_team", "Passw0rd!")
	forbidden := e(1005, "Access denied", "User doesn't have permission")
	expectError(t, h.do(request{method: "GET", path: providersPath, header: bearer(ops)}), 403, forbidden)
	expectError(t, h.do(request{method: "POST", path: providersPath, header: bearer(ops), body: `[]`}), 403, forbidden)
	expectError(t, h.do(request{method: "DELETE", path: providersPath + "/x", header: bearer(ops)}), 403, forbidden)
}
