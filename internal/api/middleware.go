package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	principalKey
	logInfoKey
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func withPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

func principal(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(principalKey).(auth.Principal)
	return p
}

// logInfo is filled in by inner layers and read by the access log.
type logInfo struct {
	user  string
	route string // the pattern the request was routed to; "" when none matched
}

func setLogUser(ctx context.Context, user string) {
	if li, ok := ctx.Value(logInfoKey).(*logInfo); ok {
		li.user = user
	}
}

// validRequestID accepts a caller's X-Request-ID only if it is short and
// plain, so it can go into logs and headers as is.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:", c) >= 0) {
			return false
		}
	}
	return true
}

var (
	nosniffHeader   = []string{"nosniff"}
	noStoreHeader   = []string{"no-store"}
	jsonContentType = []string{"application/json"}
)

// withRequestID echoes the caller's X-Request-ID or makes a 32-hex one, as
// the Webapp did, and puts it on the context for logs.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			var b [16]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		// Keys in canonical form, and the fixed values shared (net/http
		// only reads them): Set would canonicalise "X-Request-ID" and
		// allocate a slice per value on every answer.
		h := w.Header()
		h["X-Request-Id"] = []string{id}
		h["X-Content-Type-Options"] = nosniffHeader
		h["Cache-Control"] = noStoreHeader
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withAccessLog writes one structured line per request.
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		li := &logInfo{}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), logInfoKey, li)))
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		// Prometheus request count and duration by route (operations.go).
		s.observeRequest(r, li.route, status, time.Since(start))
		level := levelForStatus(status)
		if !s.log.Enabled(r.Context(), level) {
			return // the attributes below cost something even when dropped
		}
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", requestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", clientIP(r)),
			slog.String("user", li.user),
		)
	})
}

// withRecover turns a panic into 500/1014 and a logged stack, so one bad
// request never takes the server down.
func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "request_id", requestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
				s.writeJSON(w, http.StatusInternalServerError, nil, apierr.Internal("").Details)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withTrailingSlashFolded makes every route reachable with and without a
// trailing slash (/v1/messages and /v1/messages/), as the Webapp's routes were.
func (s *Server) withTrailingSlashFolded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimSuffix(p, "/")
			r2.URL.RawPath = ""
			r = r2
		}
		// A path with dot segments or empty segments names no node: the
		// mux would answer it with a bare redirect to the cleaned path,
		// outside the envelope (found by FuzzMessagingBodies).
		if p := r.URL.Path; p != "" && path.Clean(p) != p {
			s.writeError(w, r, apierr.New(1006, "URL path not found"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the peer address. Behind a reverse proxy every client shares
// the proxy's address for the login throttle; see docs/operations.md.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// throttleKey is what the per-client limits count against: the address, or
// for IPv6 its /64, the block one subscriber line usually gets, so that a
// client cannot start afresh by picking another address of its own.
func throttleKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is6() || addr.Is4In6() {
		return ip
	}
	prefix, _ := addr.WithZone("").Prefix(64)
	return prefix.String()
}

// levelForStatus logs server failures as errors and the rest as info, so an
// operator filtering on level sees what needs attention.
func levelForStatus(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
