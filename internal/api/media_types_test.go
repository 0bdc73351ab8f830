package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// typedFiles serves each file under /<name>?type=<Content-Type>; without a
// type the answer has no Content-Type at all (Go would sniff one).
func typedFiles(t *testing.T, files map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path[1:]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if ct := r.URL.Query().Get("type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		} else {
			w.Header()["Content-Type"] = nil
		}
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLinkedVoiceNoteWithAPlainServerType: an Ogg/Opus voice note behind a
// link whose server says audio/ogg (no codecs), application/ogg (what Go's
// file server sniffs), octet-stream, or nothing is
// sent: sent and delivered on the webhook, the phone gets it as
// audio/ogg; codecs=opus, and that is the stored media's type. Bytes that
// contradict what matters still fail the message with 1009.
func TestLinkedVoiceNoteWithAPlainServerType(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		opus, _ := media.Sample(media.KindVoice)
		pdf, _ := media.Sample(media.KindDocument)
		vorbis := append([]byte("OggS\x00\x02"), make([]byte, 20)...)
		vorbis = append(vorbis, 1, 30, 1, 'v', 'o', 'r', 'b', 'i', 's', 0, 0, 0, 0)
		files := typedFiles(t, map[string][]byte{"note.ogg": opus, "music.ogg": vorbis, "scan.png": pdf})

		h := newHarness(t, cfg, withPrivateLinks())
		admin := h.adminToken()
		hook := h.ready(admin)
		for path, body := range map[string]string{"/v1/settings/application": `{"sent_status":true}`, "/sandbox/v1/world": `{"delivery_delay_ms":0,"auto_read":false}`} {
			if res := h.do(request{method: "PATCH", path: path, header: bearer(admin), body: body}); res.Status != 200 {
				t.Fatalf("PATCH %s: %d %s", path, res.Status, res.Raw)
			}
		}
		link := func(name, served string) string {
			return files.URL + "/" + name + "?type=" + url.QueryEscape(served)
		}
		sends := map[string]string{}
		for _, served := range []string{"audio/ogg", "application/ogg", "application/octet-stream", "binary/octet-stream", ""} {
			sends[served] = h.send(admin, `{"to":"`+customer+`","type":"audio","audio":{"link":"`+link("note.ogg", served)+`"}}`)
		}
		vorbisID := h.send(admin, `{"to":"`+customer+`","type":"audio","audio":{"link":"`+link("music.ogg", "audio/ogg")+`"}}`)
		pdfID := h.send(admin, `{"to":"`+customer+`","type":"image","image":{"link":"`+link("scan.png", "image/png")+`"}}`)
		h.pump()

		phone := h.phone(admin, customer)
		for served, id := range sends {
			if sts := hook.statusesOf(id); len(sts) != 2 || sts[0]["status"] != "sent" || sts[1]["status"] != "delivered" {
				t.Fatalf("served as %q: statuses %v, want sent then delivered", served, sts)
			}
			got, _ := phone[id]["message"].(map[string]any)["media"].(map[string]any)
			if got["mime_type"] != "audio/ogg; codecs=opus" || got["sha256"] != sha(opus) {
				t.Fatalf("served as %q: the phone got %v", served, got)
			}
			stored, err := h.store.GetMedia(ctx, got["id"].(string))
			if err != nil || stored.MimeType != "audio/ogg; codecs=opus" || stored.Origin != store.MediaOriginLink {
				t.Fatalf("served as %q: stored %+v, %v", served, stored, err)
			}
		}
		for id, want := range map[string]string{
			vorbisID: "Media type 'audio/ogg' is not supported for audio: use 'audio/ogg; codecs=opus'",
			pdfID:    "The media content does not match its type 'image/png'",
		} {
			sts := hook.statusesOf(id)
			if len(sts) != 1 || sts[0]["status"] != "failed" {
				t.Fatalf("statuses %v, want failed", sts)
			}
			raw, _ := json.Marshal(sts[0]["errors"])
			if wantRaw := `[{"code":1009,"details":` + quoteJSON(want) + `,"title":"Parameter value is not valid"}]`; string(raw) != wantRaw {
				t.Fatalf("errors %s, want %s", raw, wantRaw)
			}
		}
	})
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestUploadChecksTheBytesAgainstTheType: POST /v1/media refuses a file its
// bytes contradict, with the text the send would give, and keeps nothing;
// the real samples are still taken, and a voice note uploaded as plain
// audio/ogg is stored, served and sendable as Ogg/Opus.
func TestUploadChecksTheBytesAgainstTheType(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		png, _ := media.Sample(media.KindImage)
		jpegHead := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0}
		for _, tc := range []struct {
			declared string
			body     []byte
		}{
			{"video/mp4", []byte("Meeting notes, 21 November: not a video.\n")},
			{"video/mp4", png},
			{"audio/mpeg", png},
			{"image/webp", png},
			{"application/pdf", jpegHead},
		} {
			expectError(t, asResponse(t, h.raw("POST", "/v1/media", tc.declared, bytes.NewReader(tc.body), bearer(admin))), 400,
				e(1009, "Parameter value is not valid", "The media content does not match its type '"+tc.declared+"'"))
		}
		if files := volumeFiles(t, h.node.Media); len(files) != 0 {
			t.Fatalf("refused uploads left files: %v", files)
		}

		for _, kind := range media.Kinds() {
			data, mimeType := media.Sample(kind)
			h.upload(admin, mimeType, data, nil)
		}
		opus, _ := media.Sample(media.KindVoice)
		id := h.upload(admin, "audio/ogg", opus, nil)
		if w := h.raw("GET", "/v1/media/"+id, "", nil, bearer(admin)); w.Code != 200 || w.Header().Get("Content-Type") != "audio/ogg; codecs=opus" {
			t.Fatalf("download of the voice note: %d %q", w.Code, w.Header().Get("Content-Type"))
		}
		hook := h.ready(admin)
		msgID := h.send(admin, `{"to":"`+customer+`","type":"audio","audio":{"id":"`+id+`"}}`)
		h.pump()
		if got := h.phone(admin, customer)[msgID]; got == nil || got["message"].(map[string]any)["media"].(map[string]any)["mime_type"] != "audio/ogg; codecs=opus" {
			t.Fatalf("the phone got %v (statuses %v)", got, hook.statusesOf(msgID))
		}
	})
}

// TestCloudUploadChecksTheBytes: in cloud mode a contradicted upload is
// refused before anything goes to the Cloud, and the Cloud gets a voice
// note uploaded as plain audio/ogg as Ogg/Opus.
func TestCloudUploadChecksTheBytes(t *testing.T) {
	t.Parallel()
	s := newCloudSetup(t)
	expectError(t, asResponse(t, s.raw("POST", "/v1/media", "video/mp4", bytes.NewReader([]byte("no video here\n")), bearer(s.admin))), 400,
		e(1009, "Parameter value is not valid", "The media content does not match its type 'video/mp4'"))
	if n := s.graph.Uploads(); n != 0 {
		t.Fatalf("%d uploads reached the Cloud", n)
	}
	opus, _ := media.Sample(media.KindVoice)
	id := s.upload(s.admin, "audio/ogg", opus, nil)
	cached, err := s.store.GetCloudMedia(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.graph.GraphURL()+"/"+cached.CloudID, nil)
	req.Header.Set("Authorization", "Bearer "+s.graph.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info map[string]any
	json.NewDecoder(resp.Body).Decode(&info)
	if info["mime_type"] != "audio/ogg; codecs=opus" {
		t.Fatalf("the Cloud has the voice note as %v", info)
	}
}
