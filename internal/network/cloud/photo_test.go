package cloud_test

import (
	"bytes"
	"encoding/json"
	stdimage "image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
)

func testJPEG(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := stdimage.NewRGBA(stdimage.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = shade
	}
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// logBuffer collects a logger's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (f fixture) count(request string) int {
	n := 0
	for _, r := range f.graph.Requests() {
		if strings.HasPrefix(r, request) {
			n++
		}
	}
	return n
}

// TestPublishProfilePhoto: with the app id, the photo goes through the
// Resumable Upload API and its handle into the profile update, once per
// photo; without it, the profile is published and the photo is not, with
// a warning.
func TestPublishProfilePhoto(t *testing.T) {
	var logs logBuffer
	f := setup(t, func(o *cloud.Options) {
		o.Log = slog.New(slog.NewTextHandler(&logs, nil))
		o.AppID = "1234567890123456" // graphtest's
	})
	photo := testJPEG(t, 40)
	if err := f.net.PublishProfile(f.ctx, network.BusinessProfile{About: "Hi", HasPhoto: true, Photo: photo}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.graph.ProfilePhoto(), photo) || f.graph.Profile()["about"] != "Hi" {
		t.Fatalf("photo %d bytes, profile %v", len(f.graph.ProfilePhoto()), f.graph.Profile())
	}
	uploads := "POST /v21.0/" + f.graph.AppID + "/uploads"
	if f.count(uploads) != 1 || f.count("POST /v21.0/upload:") != 1 {
		t.Fatalf("requests %v", f.graph.Requests())
	}
	// Another change with the same photo does not upload it again.
	if err := f.net.PublishProfile(f.ctx, network.BusinessProfile{About: "Hello", HasPhoto: true, Photo: photo}); err != nil {
		t.Fatal(err)
	}
	if f.count(uploads) != 1 || f.graph.Profile()["about"] != "Hello" {
		t.Fatalf("the same photo went again: %v", f.graph.Requests())
	}
	// A new one does.
	other := testJPEG(t, 200)
	if err := f.net.PublishProfile(f.ctx, network.BusinessProfile{About: "Hello", HasPhoto: true, Photo: other}); err != nil {
		t.Fatal(err)
	}
	if f.count(uploads) != 2 || !bytes.Equal(f.graph.ProfilePhoto(), other) {
		t.Fatalf("new photo: %d uploads", f.count(uploads))
	}
	// A refused upload fails the publication: nothing is remembered.
	f.graph.FailNext(1, graphtest.Failure{HTTPStatus: 400, Code: 100, Message: "Invalid parameter"})
	third := testJPEG(t, 120)
	wantNetErr(t, f.net.PublishProfile(f.ctx, network.BusinessProfile{HasPhoto: true, Photo: third}), 1009, false)
	if err := f.net.PublishProfile(f.ctx, network.BusinessProfile{HasPhoto: true, Photo: third}); err != nil || !bytes.Equal(f.graph.ProfilePhoto(), third) {
		t.Fatalf("after a refusal: %v", err)
	}
	// Removed in wabiz: said, not done.
	if err := f.net.PublishProfile(f.ctx, network.BusinessProfile{About: "Hello"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "the profile photo was removed in wabiz but stays on WhatsApp") {
		t.Fatalf("no warning for a removed photo:\n%s", logs.String())
	}

	// Without the app id.
	var plain logBuffer
	f2 := setup(t, func(o *cloud.Options) { o.Log = slog.New(slog.NewTextHandler(&plain, nil)) })
	for range 2 {
		if err := f2.net.PublishProfile(f2.ctx, network.BusinessProfile{About: "Hi", HasPhoto: true, Photo: photo}); err != nil {
			t.Fatal(err)
		}
	}
	if f2.graph.ProfilePhoto() != nil || f2.graph.Profile()["about"] != "Hi" || f2.count("POST /v21.0/"+f2.graph.AppID) != 0 {
		t.Fatalf("without an app id: photo %d bytes, requests %v", len(f2.graph.ProfilePhoto()), f2.graph.Requests())
	}
	if n := strings.Count(plain.String(), "set WABIZ_CLOUD_APP_ID"); n != 1 {
		t.Fatalf("%d warnings for one photo without an app id:\n%s", n, plain.String())
	}
}

// TestGraphDoubleUploadSessionsAreStrict: the double refuses what Meta's
// Resumable Upload API refuses, so the bridge's calls are held to it.
func TestGraphDoubleUploadSessionsAreStrict(t *testing.T) {
	g := graphtest.New(t)
	photo := testJPEG(t, 90)
	call := func(method, path, auth string, header map[string]string, body []byte) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, g.GraphURL()+"/"+path, bytes.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	open := func(length int, typ string) string {
		t.Helper()
		q := url.Values{"file_length": {strconv.Itoa(length)}, "file_type": {typ}}
		code, out := call("POST", g.AppID+"/uploads?"+q.Encode(), "Bearer "+g.Token, nil, nil)
		id, _ := out["id"].(string)
		if code != 200 || !strings.HasPrefix(id, "upload:") || !strings.Contains(id, "?sig=") {
			t.Fatalf("open session: %d %v", code, out)
		}
		return id
	}
	for name, q := range map[string]string{"no length": "file_type=image/jpeg", "bad type": "file_length=5&file_type=image/gif", "zero": "file_length=0&file_type=image/jpeg"} {
		if code, _ := call("POST", g.AppID+"/uploads?"+q, "Bearer "+g.Token, nil, nil); code != 400 {
			t.Errorf("%s: %d", name, code)
		}
	}
	if code, _ := call("POST", "999/uploads?file_length=5&file_type=image/jpeg", "Bearer "+g.Token, nil, nil); code != 400 {
		t.Errorf("another app: %d", code)
	}
	id := open(len(photo), "image/jpeg")
	ok := map[string]string{"file_offset": "0"}
	for name, c := range map[string]struct {
		path, auth string
		header     map[string]string
		body       []byte
		status     int
	}{
		"bearer instead of OAuth": {id, "Bearer " + g.Token, ok, photo, 401},
		"no authorization":        {id, "", ok, photo, 401},
		"wrong token":             {id, "OAuth nope", ok, photo, 401},
		"no file_offset":          {id, "OAuth " + g.Token, nil, photo, 400},
		"wrong file_offset":       {id, "OAuth " + g.Token, map[string]string{"file_offset": "7"}, photo, 400},
		"short body":              {id, "OAuth " + g.Token, ok, photo[:len(photo)-1], 400},
		"long body":               {id, "OAuth " + g.Token, ok, append(append([]byte{}, photo...), 0), 400},
		"not a JPEG":              {id, "OAuth " + g.Token, ok, bytes.Repeat([]byte("x"), len(photo)), 400},
		"wrong signature":         {strings.Split(id, "?")[0] + "?sig=AR0", "OAuth " + g.Token, ok, photo, 400},
		"unknown session":         {"upload:bm9uZQ?sig=AR0", "OAuth " + g.Token, ok, photo, 400},
	} {
		if code, out := call("POST", c.path, c.auth, c.header, c.body); code != c.status {
			t.Errorf("%s: %d %v, want %d", name, code, out, c.status)
		}
	}
	code, out := call("POST", id, "OAuth "+g.Token, ok, photo)
	h, _ := out["h"].(string)
	if code != 200 || h == "" {
		t.Fatalf("upload: %d %v", code, out)
	}
	profile := func(handle string) int {
		b, _ := json.Marshal(map[string]any{"messaging_product": "whatsapp", "profile_picture_handle": handle})
		code, _ := call("POST", g.PhoneNumberID+"/whatsapp_business_profile", "Bearer "+g.Token, map[string]string{"Content-Type": "application/json"}, b)
		return code
	}
	if code := profile("4::made-up"); code != 400 {
		t.Fatalf("a made-up handle: %d", code)
	}
	if code := profile(h); code != 200 || !bytes.Equal(g.ProfilePhoto(), photo) {
		t.Fatalf("set the photo: %d", code)
	}
	if code := profile(h); code != 400 {
		t.Fatalf("a handle used twice: %d", code)
	}
}
