package sandbox

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// profileDocument is the business profile as the simulated users see it:
// a copy the sandbox keeps, so a test can check that a change reached "the
// network" and not just the API's own storage.
const profileDocument = "sandbox.business_profile"

// PublishProfile shows the profile to the simulated users (the profile
// service's Publisher).
func (s *Sandbox) PublishProfile(ctx context.Context, p network.BusinessProfile) error {
	if p.Websites == nil {
		p.Websites = []string{}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; attempt < 5; attempt++ {
		version := int64(0)
		if doc, err := s.store.GetDocument(ctx, profileDocument); err == nil {
			version = doc.Version
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err := s.store.PutDocument(ctx, profileDocument, body, version, s.now())
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return store.ErrConflict
}

// BusinessProfile is the profile users see (empty before any was published).
func (s *Sandbox) BusinessProfile(ctx context.Context) (network.BusinessProfile, error) {
	p := network.BusinessProfile{Websites: []string{}}
	doc, err := s.store.GetDocument(ctx, profileDocument)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	err = json.Unmarshal(doc.Body, &p)
	return p, err
}
