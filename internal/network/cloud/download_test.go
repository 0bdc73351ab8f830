package cloud_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// mediaFile is a file large enough to break off in the middle.
func mediaFile() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func (f fixture) lookups(id string) int {
	n := 0
	for _, r := range f.graph.Requests() {
		if r == "GET /v21.0/"+id {
			n++
		}
	}
	return n
}

// TestMediaURLExpiringMidDownload: a transfer that breaks off (its URL
// expired meanwhile) resumes from where it stopped with a new URL from
// GET /{media-id}; a URL already expired is renewed too; the file is whole.
func TestMediaURLExpiringMidDownload(t *testing.T) {
	for _, c := range []struct {
		name        string
		prepare     func(f fixture)
		ignoreRange bool
		lookups     int
	}{
		{"broke off mid-body, resumed with Range", func(f fixture) { f.graph.CutNextDownload(20000) }, false, 2},
		{"broke off mid-body, server without Range", func(f fixture) { f.graph.CutNextDownload(20000) }, true, 2},
		{"broke off twice", func(f fixture) { f.graph.CutNextDownload(1000); f.graph.CutNextDownload(30000) }, false, 3},
		{"broke off before the first byte", func(f fixture) { f.graph.CutNextDownload(0) }, false, 2},
		{"URL expired before the download", func(f fixture) { f.graph.HandOutExpiredURLs(1) }, false, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t)
			f.graph.IgnoreRange = c.ignoreRange
			data := mediaFile()
			f.graph.AddMedia("4711", "image/jpeg", data)
			c.prepare(f)
			r, mime, err := f.net.DownloadMedia(f.ctx, "4711")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, data) || mime != "image/jpeg" {
				t.Fatalf("read %d of %d bytes (%s), %v", len(got), len(data), mime, err)
			}
			if n := f.lookups("4711"); n != c.lookups {
				t.Fatalf("%d GET /{media-id}, want %d", n, c.lookups)
			}
		})
	}
}

// TestMediaDownloadGivesUp: a download that keeps breaking off ends with a
// temporary media error after a few new URLs, never with a short file.
func TestMediaDownloadGivesUp(t *testing.T) {
	f := setup(t)
	data := mediaFile()
	f.graph.AddMedia("4712", "image/jpeg", data)
	for range 10 {
		f.graph.CutNextDownload(5000)
	}
	r, _, err := f.net.DownloadMedia(f.ctx, "4712")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	wantNetErr(t, err, 400, true)
	if !strings.Contains(err.Error(), "broke off") || len(got) >= len(data) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	f.graph.HandOutExpiredURLs(10)
	_, _, err = f.net.DownloadMedia(f.ctx, "4712")
	wantNetErr(t, err, 400, true)
}
