package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/store"
)

// Media providers (spec §8.2) are named credentials for media sent by link:
// a message names a provider and the download authenticates with it. They
// are kept as one settings document so every node sees the same list.

// ProvidersDocument is the stored document holding the providers.
const ProvidersDocument = "settings.media_providers"

// ProviderTypeWWW is the only provider type: a web server.
const ProviderTypeWWW = "www"

// Provider is one named set of link credentials.
type Provider struct {
	Name   string       `json:"name"`
	Type   string       `json:"type"`
	Config ProviderAuth `json:"config"`
}

// ProviderAuth is a provider's config: exactly one of basic or bearer.
type ProviderAuth struct {
	Basic  *BasicAuth `json:"basic,omitempty"`
	Bearer string     `json:"bearer,omitempty"`
}

// BasicAuth is HTTP Basic credentials.
type BasicAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (a *ProviderAuth) apply(req *http.Request) {
	switch {
	case a.Basic != nil:
		req.SetBasicAuth(a.Basic.Username, a.Basic.Password)
	case a.Bearer != "":
		req.Header.Set("Authorization", "Bearer "+a.Bearer)
	}
}

// ErrProviderNotFound is returned for an unknown provider name.
var ErrProviderNotFound = errors.New("media: provider not found")

var providerNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

// ParseProvider validates the body of POST
// /v1/settings/application/media/providers: a JSON array holding exactly one
// provider. body must already be valid JSON; nil (no JSON body) is an empty
// request. Every problem is reported at once, as the Webapp did.
func ParseProvider(body []byte) (Provider, *apierr.Error) {
	var list []json.RawMessage
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' || json.Unmarshal(body, &list) != nil || len(list) != 1 {
		return Provider{}, apierr.New(1009, "Can only add 1 config at a time")
	}
	fields := objectOf(list[0])
	var (
		errs apierr.List
		p    Provider
	)
	if raw, ok := present(fields, "name"); !ok || string(raw) == `""` {
		errs.Merge(apierr.MissingParam("name"))
	} else if json.Unmarshal(raw, &p.Name) != nil || !providerNamePattern.MatchString(p.Name) {
		errs.Merge(apierr.InvalidValue("name", rawText(raw)))
	}
	if raw, ok := present(fields, "type"); !ok || string(raw) == `""` {
		errs.Merge(apierr.MissingParam("type"))
	} else if json.Unmarshal(raw, &p.Type) != nil || p.Type != ProviderTypeWWW {
		errs.Merge(apierr.InvalidValue("type", rawText(raw)))
	}
	if raw, ok := present(fields, "config"); !ok {
		errs.Merge(apierr.MissingParam("config"))
	} else {
		p.Config = parseConfig(&errs, raw)
	}
	if err := errs.Err(); err != nil {
		return Provider{}, err
	}
	return p, nil
}

func parseConfig(errs *apierr.List, raw json.RawMessage) ProviderAuth {
	var auth ProviderAuth
	cfg := objectOf(raw)
	if cfg == nil {
		errs.Merge(apierr.InvalidValue("config", rawText(raw)))
		return auth
	}
	basic, hasBasic := present(cfg, "basic")
	bearer, hasBearer := present(cfg, "bearer")
	switch {
	case hasBasic && hasBearer:
		errs.Add(1010, "Exactly one of the following parameters must be present: 'basic', 'bearer'")
		return auth
	case !hasBasic && !hasBearer:
		errs.Add(1008, "Atleast one of the following parameters must be present: 'basic', 'bearer'")
		return auth
	case hasBearer:
		// The token goes into an Authorization header as it is: a control
		// character would make every download fail (or, with a line break,
		// smuggle a header).
		if json.Unmarshal(bearer, &auth.Bearer) != nil || auth.Bearer == "" || strings.ContainsFunc(auth.Bearer, isControl) {
			errs.Merge(apierr.InvalidValue("bearer", rawText(bearer)))
		}
		return auth
	}
	inner := objectOf(basic)
	if inner == nil {
		errs.Merge(apierr.InvalidValue("basic", rawText(basic)))
		return auth
	}
	auth.Basic = &BasicAuth{}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"username", &auth.Basic.Username}, {"password", &auth.Basic.Password}} {
		v, ok := present(inner, f.name)
		if !ok {
			errs.Merge(apierr.MissingParam(f.name))
		} else if json.Unmarshal(v, f.dst) != nil || *f.dst == "" || f.name == "username" && strings.Contains(*f.dst, ":") {
			// Basic credentials are user:password, so a user name cannot
			// hold a colon (RFC 7617).
			errs.Merge(apierr.InvalidValue(f.name, rawText(v)))
		}
	}
	return auth
}

func isControl(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }

// objectOf returns the keys of a JSON object, nil when raw is not one.
func objectOf(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// present reports a key that exists and is not null.
func present(fields map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	v, ok := fields[key]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil, false
	}
	return v, true
}

// rawText shows a value in an error: strings without their quotes, anything
// else as written.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// Providers lists the stored providers in the order they were first added.
func (s *Service) Providers(ctx context.Context) ([]Provider, error) {
	list, _, err := s.loadProviders(ctx)
	return list, err
}

// Provider returns the named provider; ErrProviderNotFound when unknown.
func (s *Service) Provider(ctx context.Context, name string) (Provider, error) {
	list, _, err := s.loadProviders(ctx)
	if err != nil {
		return Provider{}, err
	}
	for _, p := range list {
		if p.Name == name {
			return p, nil
		}
	}
	return Provider{}, ErrProviderNotFound
}

// SetProvider adds p, or replaces the provider of the same name in place.
func (s *Service) SetProvider(ctx context.Context, p Provider) error {
	return s.updateProviders(ctx, func(list []Provider) ([]Provider, error) {
		for i := range list {
			if list[i].Name == p.Name {
				list[i] = p
				return list, nil
			}
		}
		return append(list, p), nil
	})
}

// DeleteProvider removes the named provider; ErrProviderNotFound when unknown.
func (s *Service) DeleteProvider(ctx context.Context, name string) error {
	return s.updateProviders(ctx, func(list []Provider) ([]Provider, error) {
		for i := range list {
			if list[i].Name == name {
				return append(list[:i], list[i+1:]...), nil
			}
		}
		return nil, ErrProviderNotFound
	})
}

// updateProviders is a read-modify-write on the document, retried when
// another node wrote in between (its version moved).
func (s *Service) updateProviders(ctx context.Context, change func([]Provider) ([]Provider, error)) error {
	for attempt := 0; attempt < 10; attempt++ {
		list, version, err := s.loadProviders(ctx)
		if err != nil {
			return err
		}
		next, err := change(list)
		if err != nil {
			return err
		}
		body, err := json.Marshal(next)
		if err != nil {
			return err
		}
		_, err = s.store.PutDocument(ctx, ProvidersDocument, body, version, s.now())
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
	return errors.New("media: gave up after repeated concurrent provider updates")
}

// CheckProvidersDocument reports whether body is a providers document that
// loads and holds only providers POST would have accepted, each name once.
// A restore checks the providers of a backup with it before writing them.
func CheckProvidersDocument(body []byte) error {
	list, err := decodeProviders(body)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range list {
		one, err := json.Marshal([]Provider{p})
		if err != nil {
			return err
		}
		if _, apiErr := ParseProvider(one); apiErr != nil {
			return fmt.Errorf("media: provider %q: %w", p.Name, apiErr)
		}
		if seen[p.Name] {
			return fmt.Errorf("media: provider %q is listed twice", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

func decodeProviders(body []byte) ([]Provider, error) {
	list := []Provider{}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("media: stored providers are corrupt: %w", err)
	}
	if list == nil {
		list = []Provider{}
	}
	return list, nil
}

func (s *Service) loadProviders(ctx context.Context) ([]Provider, int64, error) {
	doc, err := s.store.GetDocument(ctx, ProvidersDocument)
	if errors.Is(err, store.ErrNotFound) {
		return []Provider{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	list, err := decodeProviders(doc.Body)
	if err != nil {
		return nil, 0, err
	}
	return list, doc.Version, nil
}
