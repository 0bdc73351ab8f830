package cloud

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/wabiz/wabiz/internal/network"
)

// maxURLRenewals bounds how often one download asks for a new URL.
const maxURLRenewals = 3

// DownloadMedia implements network.Network: GET /{media-id} for a
// short-lived URL, then the file with the token, at most MaxMediaBytes.
//
// The URL expires minutes after it was handed out, so a slow download can
// outlive it: when the file answers 401, 403, 404 or 410, or the transfer
// breaks off, the bridge asks GET /{media-id} for a new URL and goes on
// from where it was (a Range request; a server that ignores it sends the
// whole file, whose first part is skipped), up to maxURLRenewals times. The
// bytes are checked against the size and SHA-256 the Cloud reported, so a
// download pieced together from several answers is the file or an error.
func (n *Network) DownloadMedia(ctx context.Context, networkID string) (io.ReadCloser, string, error) {
	d := &mediaDownload{n: n, ctx: ctx, id: networkID, hash: sha256.New()}
	if err := d.open(); err != nil {
		return nil, "", err
	}
	return d, d.mime, nil
}

// mediaDownload is one inbound file being read from the Cloud.
type mediaDownload struct {
	n    *Network
	ctx  context.Context
	id   string
	mime string
	size int64  // as GET /{media-id} reported it; 0 when it did not
	sum  []byte // likewise; nil when not reported (or not readable)

	described bool // mime, size and sum are set from the first answer

	body     io.ReadCloser
	read     int64
	hash     hash.Hash
	renewals int
	broken   error // a read error not yet acted on (bytes came with it)
}

type mediaMeta struct {
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	FileSize int64  `json:"file_size"`
}

// open asks for a URL and starts reading the file from d.read on.
func (d *mediaDownload) open() error {
	for {
		var meta mediaMeta
		if err := d.n.call(d.ctx, http.MethodGet, url.PathEscape(d.id), nil, &meta); err != nil {
			return mapCallError(err)
		}
		if !d.described {
			d.mime, d.size, d.sum, d.described = meta.MimeType, meta.FileSize, decodeSum(meta.SHA256), true
		}
		if d.size > d.n.opt.MaxMediaBytes {
			return &network.Error{Code: 400, Details: fmt.Sprintf("media %s is %d bytes, over the %d-byte limit", d.id, d.size, d.n.opt.MaxMediaBytes)}
		}
		expired, err := d.fetch(meta.URL)
		if err == nil {
			return nil
		}
		if !expired || d.renewals >= maxURLRenewals || d.ctx.Err() != nil {
			return err
		}
		d.renewals++
		d.n.log.Warn("the Cloud's media URL failed; asking for a new one", "media", d.id, "offset", d.read, "err", err)
	}
}

// fetch GETs the file at rawURL from d.read on. expired says a new URL
// may help (the URL expired, or the connection failed).
func (d *mediaDownload) fetch(rawURL string) (expired bool, err error) {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+d.n.opt.AccessToken)
	if d.read > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", d.read))
	}
	resp, err := d.n.http.Do(req)
	if err != nil {
		return true, &network.Error{Code: 400, Details: "media download failed: " + err.Error(), Temporary: true}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if d.read > 0 {
			// The server ignored the Range: skip what was read already.
			if _, err := io.CopyN(io.Discard, resp.Body, d.read); err != nil {
				resp.Body.Close()
				return true, &network.Error{Code: 400, Details: "media download failed: " + err.Error(), Temporary: true}
			}
		}
	case resp.StatusCode == http.StatusPartialContent && d.read > 0 &&
		strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", d.read)):
	default:
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
			return true, &network.Error{Code: 400, Details: fmt.Sprintf("media download answered HTTP %d (the URL expired?)", resp.StatusCode), Temporary: true}
		}
		return false, &network.Error{Code: 400, Details: fmt.Sprintf("media download answered HTTP %d", resp.StatusCode), Temporary: resp.StatusCode >= 500}
	}
	if resp.ContentLength > d.n.opt.MaxMediaBytes {
		resp.Body.Close()
		return false, &network.Error{Code: 400, Details: fmt.Sprintf("media %s is %d bytes, over the %d-byte limit", d.id, resp.ContentLength, d.n.opt.MaxMediaBytes)}
	}
	if d.mime == "" {
		d.mime = resp.Header.Get("Content-Type")
	}
	d.body = resp.Body
	return false, nil
}

func (d *mediaDownload) Read(p []byte) (int, error) {
	for {
		if d.broken == nil {
			k, err := d.body.Read(p)
			d.hash.Write(p[:k])
			d.read += int64(k)
			if d.read > d.n.opt.MaxMediaBytes {
				return k, &network.Error{Code: 400, Details: "media is over the size limit"}
			}
			switch {
			case err == nil:
				return k, nil
			case errors.Is(err, io.EOF):
				return k, d.finish()
			case k > 0:
				d.broken = err // hand over the bytes first
				return k, nil
			}
			d.broken = err
		}
		err := d.broken
		d.broken = nil
		d.body.Close()
		if d.renewals >= maxURLRenewals || d.ctx.Err() != nil {
			return 0, &network.Error{Code: 400, Details: fmt.Sprintf("media download broke off after %d bytes: %v", d.read, err), Temporary: true}
		}
		d.renewals++
		d.n.log.Warn("a media download broke off; resuming with a new URL", "media", d.id, "offset", d.read, "err", err)
		if err := d.open(); err != nil {
			return 0, err
		}
	}
}

// finish checks the whole file against what the Cloud reported.
func (d *mediaDownload) finish() error {
	if d.size > 0 && d.read != d.size {
		return &network.Error{Code: 400, Details: fmt.Sprintf("media download ended after %d of %d bytes", d.read, d.size), Temporary: true}
	}
	if d.sum != nil && !bytes.Equal(d.hash.Sum(nil), d.sum) {
		return &network.Error{Code: 400, Details: "media download does not match the SHA-256 the Cloud API reported", Temporary: true}
	}
	return io.EOF
}

func (d *mediaDownload) Close() error {
	if d.body == nil {
		return nil
	}
	return d.body.Close()
}

// decodeSum reads a SHA-256 written as hex or base64; nil otherwise.
func decodeSum(s string) []byte {
	if b, err := hex.DecodeString(s); err == nil && len(b) == sha256.Size {
		return b
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == sha256.Size {
		return b
	}
	return nil
}
