package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/store"
)

// The customers page: the simulated users, and everything the sandbox
// control API does to them (create, online/offline, on WhatsApp or not,
// block, auto-read, change number, change identity).

func (c *Console) customers(w http.ResponseWriter, r *http.Request, s *session) error {
	users, err := c.o.Sandbox.Users(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "customers", map[string]any{"Users": users})
	return nil
}

func waIDFromPath(r *http.Request) (string, error) {
	id := r.PathValue("wa_id")
	if !api.WaIDPattern.MatchString(id) {
		return "", badRequest("%q is not a WhatsApp id (digits with the country code, no +)", id)
	}
	return id, nil
}

// knownUser is the user of the path, 404 when the sandbox never met them
// (a GET must not create users; creating is the form's job).
func (c *Console) knownUser(r *http.Request) (store.SandboxUser, error) {
	waID, err := waIDFromPath(r)
	if err != nil {
		return store.SandboxUser{}, err
	}
	users, err := c.o.Sandbox.Users(r.Context())
	if err != nil {
		return store.SandboxUser{}, err
	}
	for _, u := range users {
		if u.WaID == waID {
			return u, nil
		}
	}
	return store.SandboxUser{}, notFound("The sandbox has no customer " + waID + "; create it on the customers page")
}

func (c *Console) createCustomer(w http.ResponseWriter, r *http.Request, s *session) error {
	waID := strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("wa_id")), "+")
	if !api.WaIDPattern.MatchString(waID) {
		return badRequest("%q is not a WhatsApp id (digits with the country code, no +)", waID)
	}
	name := strings.TrimSpace(r.PostFormValue("display_name"))
	if len([]rune(name)) > 256 {
		return badRequest("The display name is longer than 256 characters")
	}
	if _, err := c.o.Sandbox.User(r.Context(), waID); err != nil {
		return err
	}
	if name != "" {
		if _, err := c.o.Sandbox.UpdateUser(r.Context(), waID, sandbox.UserUpdate{DisplayName: &name}); err != nil {
			return err
		}
	}
	return back(w, r, Prefix+"/customers/"+waID, "Customer "+waID+" is ready")
}

// updateCustomer applies the fields the form sent; an absent field stays.
func (c *Console) updateCustomer(w http.ResponseWriter, r *http.Request, s *session) error {
	u, err := c.knownUser(r)
	if err != nil {
		return err
	}
	var upd sandbox.UserUpdate
	changed := false
	for _, f := range []struct {
		name string
		dst  **bool
	}{{"online", &upd.Online}, {"whatsapp", &upd.WhatsApp}, {"blocked", &upd.Blocked}} {
		v := r.PostFormValue(f.name)
		if v == "" {
			continue
		}
		b, ok := formBool(v)
		if !ok {
			return badRequest("%s must be yes or no, not %q", f.name, v)
		}
		*f.dst, changed = &b, true
	}
	if v, ok := r.PostForm["display_name"]; ok {
		name := strings.TrimSpace(v[0])
		if len([]rune(name)) > 256 {
			return badRequest("The display name is longer than 256 characters")
		}
		upd.DisplayName, changed = &name, true
	}
	if v := strings.TrimSpace(r.PostFormValue("auto_read_ms")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < -1 || n > 86_400_000 {
			return badRequest("auto_read_ms must be -1 (never), 0 (the world's default) or up to 86400000, not %q", v)
		}
		upd.AutoReadMs, changed = &n, true
	}
	if !changed {
		return badRequest("Nothing to change")
	}
	if _, err := c.o.Sandbox.UpdateUser(r.Context(), u.WaID, upd); err != nil {
		return err
	}
	return back(w, r, returnTo(r, Prefix+"/customers/"+u.WaID), "Saved")
}

func (c *Console) changeNumber(w http.ResponseWriter, r *http.Request, s *session) error {
	u, err := c.knownUser(r)
	if err != nil {
		return err
	}
	next := strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("new_wa_id")), "+")
	if !api.WaIDPattern.MatchString(next) || next == u.WaID {
		return badRequest("%q is not a new WhatsApp id for %s", next, u.WaID)
	}
	if err := c.o.Sandbox.ChangeNumber(r.Context(), u.WaID, next); err != nil {
		return err
	}
	return back(w, r, Prefix+"/customers/"+next, u.WaID+" is now "+next)
}

func (c *Console) changeIdentity(w http.ResponseWriter, r *http.Request, s *session) error {
	u, err := c.knownUser(r)
	if err != nil {
		return err
	}
	hash, err := c.o.Sandbox.ChangeIdentity(r.Context(), u.WaID)
	if err != nil {
		return err
	}
	return back(w, r, Prefix+"/customers/"+u.WaID, "New identity "+hash)
}

// returnTo is the page a form names to come back to, when it is one of
// the console's own (never an open redirect).
func returnTo(r *http.Request, fallback string) string {
	if to := r.PostFormValue("return"); strings.HasPrefix(to, Prefix+"/") && !strings.HasPrefix(to, "//") && !strings.ContainsAny(to, "\\\r\n") {
		return to
	}
	return fallback
}

var errUnknownUser = sandbox.ErrUnknownUser

func isUnknownUser(err error) bool { return errors.Is(err, errUnknownUser) }
