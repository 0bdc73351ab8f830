package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/media"
)

// Media providers: /v1/settings/application/media/providers (spec §8.2).
// GET shows the credentials as stored, as the On-Premises client did:
// integrations read them back, and the node is admin-only.

type providersResponse struct {
	Settings struct {
		Application struct {
			Media struct {
				Providers []media.Provider `json:"providers"`
			} `json:"media"`
		} `json:"application"`
	} `json:"settings"`
}

// getMediaProviders is GET /v1/settings/application/media/providers.
func (s *Server) getMediaProviders(w http.ResponseWriter, r *http.Request) error {
	list, err := s.media.Providers(r.Context())
	if err != nil {
		return err
	}
	var resp providersResponse
	resp.Settings.Application.Media.Providers = list
	s.writeOK(w, http.StatusOK, resp)
	return nil
}

// postMediaProvider is POST /v1/settings/application/media/providers: a
// JSON array with exactly one provider; the same name replaces it.
func (s *Server) postMediaProvider(w http.ResponseWriter, r *http.Request) error {
	body, err := readJSONBody(r)
	if err != nil {
		return err
	}
	p, apiErr := media.ParseProvider(body)
	if apiErr != nil {
		return apiErr
	}
	if err := s.media.SetProvider(r.Context(), p); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// deleteMediaProvider is DELETE /v1/settings/application/media/providers/{name}.
func (s *Server) deleteMediaProvider(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := s.media.DeleteProvider(r.Context(), name); err != nil {
		if errors.Is(err, media.ErrProviderNotFound) {
			return apierr.Newf(1006, "Media provider '%s' not found", name)
		}
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// readJSONBody is readParams for a body that is not an object (this node
// takes an array): the same Content-Type rule (no application/json, no
// parameters: nil), the same 1025 answers for unreadable or malformed JSON.
func readJSONBody(r *http.Request) ([]byte, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apierr.Newf(1025, "Request body is larger than %d bytes", tooBig.Limit).WithStatus(http.StatusRequestEntityTooLarge)
		}
		return nil, apierr.New(1025, "Unable to read the request body")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, nil
	}
	// decodeParams owns the encoding and syntax checks of every JSON body;
	// an array passes them (it just holds no parameters).
	if _, err := decodeParams(body); err != nil {
		return nil, err
	}
	return body, nil
}
