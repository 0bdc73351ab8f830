package api

import (
	"net/http"
	"strconv"

	"github.com/wabiz/wabiz/docs"
)

// openAPIContentType is the media type of YAML (RFC 9512), which every
// OpenAPI tool reads; application/openapi+yaml is newer and less known.
const openAPIContentType = "application/yaml"

// openAPIRoutes serve the description of this API, the embedded
// docs/openapi.yaml. It needs no credentials: Meta's reference was public,
// it holds no secret, and a client generator must be able to fetch it
// before it has a token.
func (s *Server) openAPIRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/v1/openapi.yaml", Auth: AuthNone, Handler: serveOpenAPI},
	}
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", openAPIContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(docs.OpenAPI)))
	w.WriteHeader(http.StatusOK)
	w.Write(docs.OpenAPI)
	return nil
}
