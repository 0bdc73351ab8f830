package api

import (
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/profile"
)

// The limits that keep one client, or many, from taking the server down:
// connection timeouts (NewHTTPServer), a body limit per route and a longer
// time for the routes that carry files. docs/operations.md lists them with
// what a client sees.

// Timeouts are the connection limits of the HTTP server.
type Timeouts struct {
	// ReadHeader bounds the TLS handshake and the request line and headers:
	// a client trickling its headers (slowloris) loses the connection.
	ReadHeader time.Duration
	// Read bounds a whole request, Write the time from the end of the
	// headers to the end of the answer; file routes get Deps.TransferTimeout.
	Read, Write time.Duration
	// Idle closes keep-alive connections that send nothing.
	Idle time.Duration
	// MaxHeaderBytes bounds the request line and headers (431 beyond).
	MaxHeaderBytes int
}

// NewHTTPServer is the http.Server every listener of wabiz uses.
func NewHTTPServer(h http.Handler, t Timeouts, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    t.MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}

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
// and whether it is a file transfer (which gets TransferTimeout instead of
// the server's read and write timeouts).
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

// allowTransfer gives an authenticated file transfer TransferTimeout to
// read its body and write its answer. It runs after authentication so that
// nobody without credentials holds a connection that long.
func (s *Server) allowTransfer(w http.ResponseWriter, r *http.Request) {
	if s.transferTimeout <= 0 {
		return
	}
	if _, file := s.routeLimits(r); !file {
		return
	}
	// Real time: deadlines are the network's, not the injectable clock's.
	deadline := time.Now().Add(s.transferTimeout)
	rc := http.NewResponseController(w)
	// A writer without deadlines (tests' recorders) keeps the server's.
	rc.SetReadDeadline(deadline)
	rc.SetWriteDeadline(deadline)
}
