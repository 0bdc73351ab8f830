package api

import (
	"net/http"
	"strings"

	"github.com/wabiz/wabiz/internal/profile"
)

// Body limits of the routes that take more than a small JSON document. The
// JSON limit is Deps.MaxBodyBytes.
const (
	// maxRestoreBodyBytes: the backup blob carries the profile photo.
	maxRestoreBodyBytes = 16 << 20
	// certBodyLimit: a long chain with 4096-bit RSA keys is a few tens of KB.
	certBodyLimit = 1 << 20
	// maxCloudWebhookBytes: a batch of changes from Meta is small; anything
	// near this is not from Meta.
	maxCloudWebhookBytes = 3 << 20
)

// routeLimits is the one place that says how much body a request may carry
// and whether it is a file transfer.
func (s *Server) routeLimits(r *http.Request) (maxBody int64, file bool) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch r.Method {
	case http.MethodPost:
		switch {
		case path == "/v1/media" && s.media != nil:
			// Streamed to the media volume, never whole in memory.
			return s.media.MaxBytes(), true
		case path == photoPath && s.profile != nil:
			// One more byte, to tell "too large" from "exactly the limit".
			return profile.MaxPhotoBytes + 1, true
		case path == "/v1/settings/restore" && s.security != nil:
			return max(s.maxBody, maxRestoreBodyBytes), true
		case strings.HasPrefix(path, "/v1/certificates/") && s.certs != nil:
			return certBodyLimit, false
		case path == "/cloud/webhook" && s.cloud != nil:
			return maxCloudWebhookBytes, false
		}
	case http.MethodGet, http.MethodHead:
		if s.media != nil && strings.HasPrefix(path, "/v1/media/") && !strings.HasSuffix(path, "/download") {
			return s.maxBody, true
		}
	}
	return s.maxBody, false
}

// withBodyLimit bounds every request body by its route's limit.
func (s *Server) withBodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, _ := s.routeLimits(r)
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}
