package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/stickerpack"
	"github.com/wabiz/wabiz/internal/store"
)

// StickerpackService is what the handlers of /v1/stickerpacks/... need
// (implemented by stickerpack.Service).
type StickerpackService interface {
	List(ctx context.Context, namespace string) ([]store.Stickerpack, error)
	Create(ctx context.Context, namespace string, f stickerpack.Fields) (store.Stickerpack, error)
	Get(ctx context.Context, namespace, id string) (store.Stickerpack, error)
	Update(ctx context.Context, namespace, id string, f stickerpack.Fields) error
	Delete(ctx context.Context, namespace, id string) error
	Stickers(ctx context.Context, namespace, packID string) ([]store.Sticker, error)
	AddSticker(ctx context.Context, namespace, packID string, f stickerpack.StickerFields) (int64, error)
	Sticker(ctx context.Context, namespace, packID, index string) (store.Sticker, error)
	UpdateSticker(ctx context.Context, namespace, packID, index string, f stickerpack.StickerFields) error
	DeleteSticker(ctx context.Context, namespace, packID, index string) error
}

// stickerpackRoutes are /v1/stickerpacks/... when the service is
// configured. Any user may call them (the Webapp's default access rule).
func (s *Server) stickerpackRoutes() []Route {
	if s.stickerpacks == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Pattern: "/v1/stickerpacks", Auth: AuthToken, Role: auth.RoleUser, Handler: s.listStickerpacks},
		{Method: "POST", Pattern: "/v1/stickerpacks", Auth: AuthToken, Role: auth.RoleUser, Handler: s.createStickerpack},
		{Method: "GET", Pattern: "/v1/stickerpacks/{pack}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.getStickerpack},
		{Method: "PATCH", Pattern: "/v1/stickerpacks/{pack}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.patchStickerpack},
		{Method: "DELETE", Pattern: "/v1/stickerpacks/{pack}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.deleteStickerpack},
		{Method: "GET", Pattern: "/v1/stickerpacks/{pack}/stickers", Auth: AuthToken, Role: auth.RoleUser, Handler: s.listStickers},
		{Method: "POST", Pattern: "/v1/stickerpacks/{pack}/stickers", Auth: AuthToken, Role: auth.RoleUser, Handler: s.addSticker},
		{Method: "GET", Pattern: "/v1/stickerpacks/{pack}/stickers/{index}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.getSticker},
		{Method: "PATCH", Pattern: "/v1/stickerpacks/{pack}/stickers/{index}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.patchSticker},
		{Method: "DELETE", Pattern: "/v1/stickerpacks/{pack}/stickers/{index}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.deleteSticker},
	}
}

type stickerpackID struct {
	ID string `json:"id"`
}

type stickerpackIDs struct {
	Stickerpacks []stickerpackID `json:"stickerpacks"`
}

// stickerpackInfo is a pack as GET shows it; the store links exist only
// for third-party packs and are left out when unset.
type stickerpackInfo struct {
	Publisher   string `json:"publisher"`
	Name        string `json:"name"`
	IOSLink     string `json:"ios_app_store_link,omitempty"`
	AndroidLink string `json:"android_app_store_link,omitempty"`
}

type stickerIndex struct {
	Index string `json:"index"`
}

type stickerIndexes struct {
	Stickers []stickerIndex `json:"stickers"`
}

// stickerInfo: id is what a sticker message sends ({"sticker":{"id":...}});
// wabiz keeps no separate sticker file, so it is the image's media id, and
// image_data_id is shown for third-party packs only, as Meta did.
type stickerInfo struct {
	ID          string   `json:"id"`
	Emojis      []string `json:"emojis"`
	ImageDataID string   `json:"image_data_id,omitempty"`
}

// stickerNamespace reads ?namespace=: "whatsapp" for first-party packs,
// "third_party" (the default) for the business's own.
func stickerNamespace(r *http.Request) (string, error) {
	q := r.URL.Query()
	if !q.Has("namespace") {
		return store.StickerpackNamespaceThirdParty, nil
	}
	switch ns := q.Get("namespace"); ns {
	case store.StickerpackNamespaceWhatsApp, store.StickerpackNamespaceThirdParty:
		return ns, nil
	default:
		return "", apierr.InvalidValue("namespace", ns)
	}
}

func (s *Server) listStickerpacks(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	packs, err := s.stickerpacks.List(r.Context(), ns)
	if err != nil {
		return err
	}
	out := stickerpackIDs{Stickerpacks: make([]stickerpackID, len(packs))}
	for i, p := range packs {
		out.Stickerpacks[i] = stickerpackID{ID: p.ID}
	}
	s.writeOK(w, http.StatusOK, out)
	return nil
}

// createStickerpack answers 201 (spec §17.13 leaves 200/201 open): every
// other create of the API (users, media, messages) is 201, and clients check
// for a 2xx.
func (s *Server) createStickerpack(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	f, err := packFields(r)
	if err != nil {
		return err
	}
	p, err := s.stickerpacks.Create(r.Context(), ns, f)
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusCreated, stickerpackIDs{Stickerpacks: []stickerpackID{{ID: p.ID}}})
	return nil
}

func (s *Server) getStickerpack(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	p, err := s.stickerpacks.Get(r.Context(), ns, r.PathValue("pack"))
	if err != nil {
		return err
	}
	info := stickerpackInfo{Publisher: p.Publisher, Name: p.Name}
	if ns == store.StickerpackNamespaceThirdParty {
		info.IOSLink, info.AndroidLink = p.IOSLink, p.AndroidLink
	}
	s.writeOK(w, http.StatusOK, struct {
		Stickerpacks []stickerpackInfo `json:"stickerpacks"`
	}{[]stickerpackInfo{info}})
	return nil
}

func (s *Server) patchStickerpack(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	f, err := packFields(r)
	if err != nil {
		return err
	}
	if err := s.stickerpacks.Update(r.Context(), ns, r.PathValue("pack"), f); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

func (s *Server) deleteStickerpack(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	if err := s.stickerpacks.Delete(r.Context(), ns, r.PathValue("pack")); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

func (s *Server) listStickers(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	stickers, err := s.stickerpacks.Stickers(r.Context(), ns, r.PathValue("pack"))
	if err != nil {
		return err
	}
	out := stickerIndexes{Stickers: make([]stickerIndex, len(stickers))}
	for i, st := range stickers {
		out.Stickers[i] = stickerIndex{Index: strconv.FormatInt(st.Index, 10)}
	}
	s.writeOK(w, http.StatusOK, out)
	return nil
}

// addSticker answers 201 like the pack create.
func (s *Server) addSticker(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	f, err := stickerFields(r)
	if err != nil {
		return err
	}
	index, err := s.stickerpacks.AddSticker(r.Context(), ns, r.PathValue("pack"), f)
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusCreated, stickerIndexes{Stickers: []stickerIndex{{Index: strconv.FormatInt(index, 10)}}})
	return nil
}

func (s *Server) getSticker(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	st, err := s.stickerpacks.Sticker(r.Context(), ns, r.PathValue("pack"), r.PathValue("index"))
	if err != nil {
		return err
	}
	info := stickerInfo{ID: st.ImageDataID, Emojis: st.Emojis}
	if ns == store.StickerpackNamespaceThirdParty {
		info.ImageDataID = st.ImageDataID
	}
	s.writeOK(w, http.StatusOK, struct {
		Stickers []stickerInfo `json:"stickers"`
	}{[]stickerInfo{info}})
	return nil
}

func (s *Server) patchSticker(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	f, err := stickerFields(r)
	if err != nil {
		return err
	}
	if err := s.stickerpacks.UpdateSticker(r.Context(), ns, r.PathValue("pack"), r.PathValue("index"), f); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

func (s *Server) deleteSticker(w http.ResponseWriter, r *http.Request) error {
	ns, err := stickerNamespace(r)
	if err != nil {
		return err
	}
	if err := s.stickerpacks.DeleteSticker(r.Context(), ns, r.PathValue("pack"), r.PathValue("index")); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// packFields reads the pack's string fields; a non-string value is 1009,
// and every such error is reported together, as the Webapp did.
func packFields(r *http.Request) (stickerpack.Fields, error) {
	p, err := readParams(r)
	if err != nil {
		return stickerpack.Fields{}, err
	}
	var f stickerpack.Fields
	var errs apierr.List
	for _, t := range []struct {
		name string
		dst  **string
	}{{"publisher", &f.Publisher}, {"name", &f.Name}, {"ios_app_store_link", &f.IOSLink}, {"android_app_store_link", &f.AndroidLink}} {
		v, present, apiErr := p.optionalString(t.name)
		errs.Merge(apiErr)
		if present && apiErr == nil {
			*t.dst = &v
		}
	}
	if err := errs.Err(); err != nil {
		return stickerpack.Fields{}, err
	}
	return f, nil
}

func stickerFields(r *http.Request) (stickerpack.StickerFields, error) {
	p, err := readParams(r)
	if err != nil {
		return stickerpack.StickerFields{}, err
	}
	var f stickerpack.StickerFields
	var errs apierr.List
	id, present, apiErr := p.optionalString("image_data_id")
	errs.Merge(apiErr)
	if present && apiErr == nil {
		f.ImageDataID = &id
	}
	if raw, ok := p["emojis"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &f.Emojis) != nil {
			errs.Merge(apierr.InvalidValue("emojis", string(raw)))
		} else {
			f.HasEmojis = true
			if f.Emojis == nil {
				f.Emojis = []string{}
			}
		}
	}
	if err := errs.Err(); err != nil {
		return stickerpack.StickerFields{}, err
	}
	return f, nil
}
