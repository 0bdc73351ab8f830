package console

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/network/sandbox"
)

// The settings page: application settings, registration, health and the
// node list (read from the API's services; changing settings stays the
// API's job), and on the sandbox its world, the pending registration code
// and the certificate WhatsApp Manager would issue.

type settingsData struct {
	Settings    string
	Gateway     string
	Registered  bool
	Account     string
	Nodes       []cluster.NodeHealth
	World       string
	PendingCode string
	Business    string
	Certificate string
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.settingsData(r)
	if err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "settings", d)
	return nil
}

func (c *Console) settingsData(r *http.Request) (settingsData, error) {
	ctx := r.Context()
	var d settingsData
	app, _ := json.MarshalIndent(c.o.Settings(), "", "  ")
	d.Settings = string(app)
	var err error
	if d.Gateway, err = c.o.Status.GatewayStatus(ctx); err != nil {
		return d, err
	}
	if acct, ok := c.o.Status.Account(); ok {
		d.Registered, d.Account = true, "+"+acct.CC+" "+acct.PhoneNumber+" ("+acct.VName+"), wa_id "+acct.WaID
	}
	if c.o.Nodes != nil {
		if d.Nodes, err = c.o.Nodes.Health(ctx, d.Gateway); err != nil {
			return d, err
		}
	}
	if c.o.Sandbox != nil {
		world, err := c.o.Sandbox.World(ctx)
		if err != nil {
			return d, err
		}
		b, _ := json.MarshalIndent(world, "", "  ")
		d.World = string(b)
		if d.PendingCode, err = c.o.Sandbox.PendingCode(ctx); err != nil {
			return d, err
		}
		if p, err := c.o.Sandbox.BusinessProfile(ctx); err == nil {
			b, _ := json.MarshalIndent(p, "", "  ")
			d.Business = string(b)
		}
	}
	return d, nil
}

// setWorld takes the world as JSON; keys it does not name keep their value.
func (c *Console) setWorld(w http.ResponseWriter, r *http.Request, s *session) error {
	var patch map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.PostFormValue("world")), &patch); err != nil || patch == nil {
		return badRequest("The world must be one JSON object")
	}
	world, err := c.o.Sandbox.World(r.Context())
	if err != nil {
		return err
	}
	current, _ := json.Marshal(world)
	var fields map[string]json.RawMessage
	json.Unmarshal(current, &fields)
	for _, k := range slices.Sorted(maps.Keys(patch)) {
		if _, ok := fields[k]; !ok {
			return badRequest("The world has no setting %q", k)
		}
		fields[k] = patch[k]
	}
	merged, _ := json.Marshal(fields)
	var next sandbox.World
	if err := json.Unmarshal(merged, &next); err != nil {
		return badRequest("Invalid world: %v", err)
	}
	if err := c.o.Sandbox.SetWorld(r.Context(), next); err != nil {
		return badRequest("Invalid world: %v", err)
	}
	return back(w, r, Prefix+"/settings", "World saved")
}

// issueCertificate shows the verified-name certificate for a number, as
// POST /sandbox/v1/certificates would.
func (c *Console) issueCertificate(w http.ResponseWriter, r *http.Request, s *session) error {
	cc, phone, vname := strings.TrimSpace(r.PostFormValue("cc")), strings.TrimSpace(r.PostFormValue("phone_number")), strings.TrimSpace(r.PostFormValue("vname"))
	if !api.CCPattern.MatchString(cc) || !api.PhonePattern.MatchString(phone) || vname == "" || len([]rune(vname)) > 256 {
		return badRequest("A certificate needs a country code, a phone number (digits) and a verified name of up to 256 characters")
	}
	cert, err := c.o.Sandbox.IssueCertificate(r.Context(), cc, phone, vname)
	if err != nil {
		return err
	}
	d, err := c.settingsData(r)
	if err != nil {
		return err
	}
	d.Certificate = cert
	c.render(w, r, s, http.StatusOK, "settings", d)
	return nil
}
