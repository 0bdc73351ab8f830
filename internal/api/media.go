package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// The media node: uploads go to the media volume as they arrive (never whole
// in memory), downloads are served from it with range support.

type mediaID struct {
	ID string `json:"id"`
}

type uploadResponse struct {
	Media []mediaID `json:"media"`
}

// maxContentTypeLen keeps a declared type within the media table's column.
const maxContentTypeLen = 255

func errUploadTooLarge() *apierr.Error {
	return apierr.New(1009, "Request content exceeds size of 100 MB")
}

// uploadMedia is POST /v1/media: the raw body is the file, its Content-Type
// the media type. Any type but a program is accepted here, as long as the
// bytes do not contradict it (media.CheckUpload: the send's own rule);
// whether the type suits a message kind is checked when it is sent. The
// file is stored, and handed to the network, with the type as the bytes
// read it (Ogg/Opus declared audio/ogg is audio/ogg; codecs=opus).
func (s *Server) uploadMedia(w http.ResponseWriter, r *http.Request) error {
	contentType := strings.TrimSpace(r.Header.Get("Content-Type"))
	if contentType == "" {
		return apierr.New(1008, "Content-Type missing")
	}
	if len(contentType) > maxContentTypeLen {
		return apierr.Newf(1009, "Content-Type is longer than %d characters", maxContentTypeLen)
	}
	if r.ContentLength > s.media.MaxBytes() {
		return errUploadTooLarge()
	}
	body := bufio.NewReaderSize(r.Body, media.SniffLen)
	head, err := body.Peek(media.SniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return uploadReadError(err)
	}
	if len(head) == 0 {
		return apierr.New(1008, "Request had no (empty) content")
	}
	if err := media.CheckUpload(contentType, head); err != nil {
		return err
	}
	// The On-Premises API names no file on upload; a Content-Disposition
	// filename, when a client sends one, becomes the download's name.
	var filename string
	if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
		filename = params["filename"]
	}
	m, err := s.media.Save(r.Context(), body, contentType, filename, store.MediaOriginUpload)
	switch {
	case err == nil:
	case errors.Is(err, media.ErrTooLarge):
		return errUploadTooLarge()
	case errors.Is(err, media.ErrNotWritable):
		s.log.Error("media upload failed", "request_id", requestID(r.Context()), "err", err)
		return apierr.New(1005, "Media directory is not writable. Please check permissions")
	case errors.Is(err, media.ErrIDConflict):
		return apierr.New(1004, "Possible id conflict. Try again")
	default:
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errUploadTooLarge()
		}
		if r.Context().Err() != nil {
			return uploadReadError(err)
		}
		return err
	}
	if s.mediaPub != nil {
		if err := s.publishUpload(r.Context(), m); err != nil {
			return err
		}
	}
	s.writeOK(w, http.StatusCreated, uploadResponse{Media: []mediaID{{ID: m.ID}}})
	return nil
}

// MediaPublisher puts a file on the network as soon as it is uploaded (the
// Cloud bridge, whose sends name files by the Cloud's own media ids). A
// *network.Error that is not Temporary means the network refused the file
// itself; any other error, that the network could not take it now.
type MediaPublisher interface {
	PublishMedia(ctx context.Context, m network.OutgoingMedia) error
}

// publishUpload hands a stored upload to the network. A file the network
// refuses could never be sent: it is removed and the upload answered
// 400/1009. A network that cannot be reached changes nothing for the
// client: the file stays, and goes to the network at its first send.
func (s *Server) publishUpload(ctx context.Context, m store.Media) error {
	vol := s.media
	err := s.mediaPub.PublishMedia(ctx, network.OutgoingMedia{
		ID: m.ID, MimeType: m.MimeType, Size: m.Size, SHA256: m.SHA256, Filename: m.Filename,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			_, f, err := vol.Open(ctx, m.ID)
			return f, err
		},
	})
	var refused *network.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refused) && !refused.Temporary:
		s.log.Warn("the network refused an uploaded file; it is not kept", "request_id", requestID(ctx), "media", m.ID, "type", m.MimeType, "size", m.Size, "details", refused.Details)
		if err := vol.Delete(context.WithoutCancel(ctx), m.ID); err != nil {
			s.log.Error("could not remove a refused upload", "media", m.ID, "err", err)
		}
		return apierr.Newf(1009, "Media upload error: the file was refused: %s", refused.Details)
	default:
		s.log.Warn("could not put an uploaded file on the network now; it is kept and goes at its first send",
			"request_id", requestID(ctx), "media", m.ID, "err", err)
		return nil
	}
}

// uploadReadError answers a body that could not be read: too large, or the
// client went away (then nobody reads the answer).
func uploadReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errUploadTooLarge()
	}
	return apierr.New(1025, "Unable to read the request body")
}

// downloadMedia is GET /v1/media/{id}: the file with its stored type, as an
// attachment, with Range and conditional requests handled by ServeContent.
func (s *Server) downloadMedia(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	m, f, err := s.media.Open(r.Context(), id)
	switch {
	case errors.Is(err, media.ErrNotFound):
		return mediaNotFound(id)
	case errors.Is(err, media.ErrPending):
		return apierr.Newf(1006, "File with id %s is not downloaded yet: request the download with GET /v1/media/%s/download, "+
			"then fetch it again once a media_items notification reports it downloaded", id, id)
	case err != nil:
		return err
	}
	defer f.Close()
	name := m.Filename
	if name == "" {
		name = m.ID + media.Extension(m.MimeType)
	}
	h := w.Header()
	h.Set("Content-Type", m.MimeType)
	h.Set("Content-Disposition", attachment(name))
	if m.SHA256 != "" {
		h.Set("ETag", `"`+m.SHA256+`"`)
	}
	http.ServeContent(w, r, "", m.CreatedAt, f)
	return nil
}

// deleteMedia is DELETE /v1/media/{id}.
func (s *Server) deleteMedia(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.media.Delete(r.Context(), id); err != nil {
		if errors.Is(err, media.ErrNotFound) {
			return mediaNotFound(id)
		}
		if errors.Is(err, media.ErrBuiltIn) {
			return apierr.Newf(1005, "File with id %s is a first-party sticker and cannot be deleted", id)
		}
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// mediaNotFound is the v2.2x Webapp's JSON 404 (later docs say "no body";
// clients only look at the status).
func mediaNotFound(id string) *apierr.Error {
	return apierr.Newf(1006, "File with id %s not found", id)
}

// attachment writes Content-Disposition with the name quoted; a name that is
// not plain ASCII also goes in RFC 6266's filename* form, with an ASCII
// stand-in for old clients.
func attachment(name string) string {
	plain := true
	fallback := []byte(name)
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			plain = false
			fallback[i] = '_'
		}
	}
	if plain {
		return `attachment; filename="` + name + `"`
	}
	return `attachment; filename="` + string(fallback) + `"; filename*=UTF-8''` + rfc5987(name)
}

// rfc5987 percent-encodes all but RFC 5987's attr-char.
func rfc5987(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

type mediaItemsResponse struct {
	MediaItems []mediaIDItem `json:"media_items"`
}

type mediaIDItem struct {
	ID string `json:"id"`
}

// retryMediaDownload is GET /v1/media/{id}/download: download an inbound
// file that was not downloaded automatically; the outcome is reported on the
// webhook as media_items.
func (s *Server) retryMediaDownload(w http.ResponseWriter, r *http.Request) error {
	id := strings.ToLower(r.PathValue("id"))
	if err := s.messaging.DownloadMedia(r.Context(), id); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, mediaItemsResponse{MediaItems: []mediaIDItem{{ID: id}}})
	return nil
}
