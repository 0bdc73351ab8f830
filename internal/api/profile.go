package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/profile"
)

// ProfileService is what the handlers of the business profile need:
// /v1/settings/profile/about, /v1/settings/profile/photo,
// /v1/settings/business/profile, /v1/settings/business/compliance_info.
// Input errors come back as *apierr.Error.
type ProfileService interface {
	About(ctx context.Context) (string, error)
	SetAbout(ctx context.Context, body map[string]json.RawMessage) error
	Photo(ctx context.Context) ([]byte, error)
	SetPhoto(ctx context.Context, raw []byte) error
	DeletePhoto(ctx context.Context) error
	BusinessProfile(ctx context.Context) (profile.Business, error)
	UpdateBusinessProfile(ctx context.Context, body map[string]json.RawMessage) error
	ComplianceInfo(ctx context.Context) (profile.ComplianceInfo, error)
	UpdateComplianceInfo(ctx context.Context, body map[string]json.RawMessage) error
}

const (
	photoPath          = "/v1/settings/profile/photo"
	complianceInfoPath = "/v1/settings/business/compliance_info"
)

// profileRoutes are the profile routes when the service is configured
// (under /v1/settings: admin only).
func (s *Server) profileRoutes() []Route {
	if s.profile == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Pattern: "/v1/settings/profile/about", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.getAbout},
		{Method: "PATCH", Pattern: "/v1/settings/profile/about", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.patchAbout},
		{Method: "GET", Pattern: photoPath, Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.getPhoto},
		{Method: "POST", Pattern: photoPath, Auth: AuthToken, Role: auth.RoleAdmin, MaxBody: profile.MaxPhotoBytes + 1, File: true, Handler: s.postPhoto},
		{Method: "DELETE", Pattern: photoPath, Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.deletePhoto},
		{Method: "GET", Pattern: "/v1/settings/business/profile", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.getBusinessProfile},
		{Method: "POST", Pattern: "/v1/settings/business/profile", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.postBusinessProfile},
		{Method: "GET", Pattern: complianceInfoPath, Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.getComplianceInfo},
		{Method: "POST", Pattern: complianceInfoPath, Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.postComplianceInfo},
	}
}

type aboutResponse struct {
	Settings struct {
		Profile struct {
			About struct {
				Text string `json:"text"`
			} `json:"about"`
		} `json:"profile"`
	} `json:"settings"`
}

func (s *Server) getAbout(w http.ResponseWriter, r *http.Request) error {
	text, err := s.profile.About(r.Context())
	if err != nil {
		return err
	}
	var resp aboutResponse
	resp.Settings.Profile.About.Text = text
	s.writeOK(w, http.StatusOK, resp)
	return nil
}

func (s *Server) patchAbout(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := s.profile.SetAbout(r.Context(), p); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

type photoLinkResponse struct {
	Settings struct {
		Profile struct {
			Photo struct {
				Link string `json:"link"`
			} `json:"photo"`
		} `json:"profile"`
	} `json:"settings"`
}

// getPhoto returns the JPEG itself, or with ?format=link a URL to it. The
// link is this same route: downloading it needs the admin's credentials,
// as every /v1/settings path does.
func (s *Server) getPhoto(w http.ResponseWriter, r *http.Request) error {
	jpg, err := s.profile.Photo(r.Context())
	if errors.Is(err, profile.ErrNoPhoto) {
		return apierr.New(1006, "Profile photo not found")
	}
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "link" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		var resp photoLinkResponse
		resp.Settings.Profile.Photo.Link = scheme + "://" + r.Host + photoPath
		s.writeOK(w, http.StatusOK, resp)
		return nil
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Disposition", `attachment; filename="profilePicture.jpg"`)
	h.Set("Content-Length", strconv.Itoa(len(jpg)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(jpg)
	}
	return nil
}

// postPhoto takes the raw image as the body; 201 as the v2.2x Webapp
// answered.
func (s *Server) postPhoto(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength > profile.MaxPhotoBytes {
		return profile.PhotoTooLarge()
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return profile.PhotoTooLarge()
		}
		return apierr.New(1025, "Unable to read the request body")
	}
	if err := s.profile.SetPhoto(r.Context(), raw); err != nil {
		return err
	}
	s.writeOK(w, http.StatusCreated, nil)
	return nil
}

func (s *Server) deletePhoto(w http.ResponseWriter, r *http.Request) error {
	if err := s.profile.DeletePhoto(r.Context()); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

type businessProfileResponse struct {
	Settings struct {
		Business struct {
			Profile profile.Business `json:"profile"`
		} `json:"business"`
	} `json:"settings"`
}

func (s *Server) getBusinessProfile(w http.ResponseWriter, r *http.Request) error {
	b, err := s.profile.BusinessProfile(r.Context())
	if err != nil {
		return err
	}
	var resp businessProfileResponse
	resp.Settings.Business.Profile = b
	s.writeOK(w, http.StatusOK, resp)
	return nil
}

func (s *Server) postBusinessProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := s.profile.UpdateBusinessProfile(r.Context(), p); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

type complianceInfoResponse struct {
	Settings struct {
		Business struct {
			ComplianceInfo profile.ComplianceInfo `json:"compliance_info"`
		} `json:"business"`
	} `json:"settings"`
}

func (s *Server) getComplianceInfo(w http.ResponseWriter, r *http.Request) error {
	c, err := s.profile.ComplianceInfo(r.Context())
	if err != nil {
		return err
	}
	var resp complianceInfoResponse
	resp.Settings.Business.ComplianceInfo = c
	s.writeOK(w, http.StatusOK, resp)
	return nil
}

func (s *Server) postComplianceInfo(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := s.profile.UpdateComplianceInfo(r.Context(), p); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}
