package cloud

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/template"
)

// What cannot be mapped to the Cloud:
//   - the verified-name certificate of POST /v1/account: the Cloud keeps the
//     display name on the WABA, so Cert is ignored and the name reported is
//     the number's verified_name;
//   - cc/phone_number: the Cloud number is fixed by PhoneNumberID; the
//     request's values are only echoed back in the Account;
//   - the PIN is sent to /register (the Cloud requires one); without one
//     in the request or Options.PIN, Register fails with 1008.

type phoneNumber struct {
	ID                 string `json:"id"`
	VerifiedName       string `json:"verified_name"`
	DisplayPhoneNumber string `json:"display_phone_number"`
}

func (n *Network) phoneNumber(ctx context.Context) (phoneNumber, error) {
	var p phoneNumber
	err := n.call(ctx, http.MethodGet, n.opt.PhoneNumberID+"?fields=verified_name,display_phone_number", nil, &p)
	return p, mapCallError(err)
}

// RequestCode implements network.Network: POST /{phone-number-id}/request_code.
func (n *Network) RequestCode(ctx context.Context, req network.CodeRequest) (network.CodeResult, error) {
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = "SMS"
	}
	if err := n.call(ctx, http.MethodPost, n.opt.PhoneNumberID+"/request_code",
		map[string]string{"code_method": method, "language": "en_US"}, nil); err != nil {
		return network.CodeResult{}, mapCallError(err)
	}
	p, err := n.phoneNumber(ctx)
	if err != nil {
		return network.CodeResult{}, err
	}
	n.mu.Lock()
	if req.Pin != "" {
		n.pin = req.Pin
	}
	n.account = network.Account{CC: req.CC, PhoneNumber: req.PhoneNumber, WaID: req.CC + req.PhoneNumber, VName: p.VerifiedName}
	n.mu.Unlock()
	return network.CodeResult{VName: p.VerifiedName}, nil
}

// Register implements network.Network: POST verify_code with the code,
// then POST register with the two-step PIN.
func (n *Network) Register(ctx context.Context, code string) (network.Account, error) {
	n.mu.Lock()
	pin, acct := n.pin, n.account
	n.mu.Unlock()
	if pin == "" {
		return network.Account{}, &network.Error{Code: 1008, Details: "the Cloud API registers a number with its two-step verification PIN, and none is configured"}
	}
	if err := n.call(ctx, http.MethodPost, n.opt.PhoneNumberID+"/verify_code", map[string]string{"code": code}, nil); err != nil {
		return network.Account{}, mapCallError(err)
	}
	if err := n.call(ctx, http.MethodPost, n.opt.PhoneNumberID+"/register",
		map[string]string{"messaging_product": "whatsapp", "pin": pin}, nil); err != nil {
		return network.Account{}, mapCallError(err)
	}
	p, err := n.phoneNumber(ctx)
	if err != nil {
		return network.Account{}, err
	}
	acct.VName = p.VerifiedName
	if digits := onlyDigits(p.DisplayPhoneNumber); digits != "" {
		acct.WaID = digits
	}
	return acct, nil
}

// Connect implements network.Network: the number must answer on the Graph API.
func (n *Network) Connect(ctx context.Context, _ network.Account) error {
	_, err := n.phoneNumber(ctx)
	return err
}

// ProbeConnection implements network.ConnectionProber: GET
// /{phone-number-id}?fields=id, the smallest read the token allows. The
// core calls it only while it doubts the connection or when nothing has
// shown the Graph API answering for minutes, so an idle bridge spends a
// dozen calls an hour on it and a busy one none.
func (n *Network) ProbeConnection(ctx context.Context) error {
	var p phoneNumber
	return mapCallError(n.call(ctx, http.MethodGet, n.opt.PhoneNumberID+"?fields=id", nil, &p))
}

var _ network.ConnectionProber = (*Network)(nil)

// CheckContacts implements network.Network. The Cloud API has no contact
// check: every well-formed number is reported valid with wa_id = its
// digits, as late On-Premises clients did. The loss: a number without
// WhatsApp is only found out when a send fails (1013 from 131026).
func (n *Network) CheckContacts(_ context.Context, waIDs []string) ([]network.ContactStatus, error) {
	out := make([]network.ContactStatus, len(waIDs))
	for i, id := range waIDs {
		d := onlyDigits(id)
		out[i] = network.ContactStatus{WaID: d, Valid: len(d) >= 5 && len(d) <= 15}
		if !out[i].Valid {
			out[i].WaID = id
		}
	}
	return out, nil
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MarkRead implements network.Network. Inbound ids are wamids (see
// Events), so they go to the Cloud as they are.
func (n *Network) MarkRead(ctx context.Context, _ string, messageID string) error {
	return mapCallError(n.call(ctx, http.MethodPost, n.opt.PhoneNumberID+"/messages", map[string]string{
		"messaging_product": "whatsapp", "status": "read", "message_id": n.wamidFor(ctx, messageID),
	}, nil))
}

// Templates implements network.Network: every page of the WABA's
// message_templates, each translation parsed as the sandbox's are.
// Translations the parser refuses are logged and left out rather than
// failing the whole list.
func (n *Network) Templates(ctx context.Context) ([]network.Template, error) {
	ns := DefaultNamespace
	var waba struct {
		Namespace string `json:"message_template_namespace"`
	}
	if err := n.call(ctx, http.MethodGet, n.opt.WABAID+"?fields=message_template_namespace", nil, &waba); err == nil && waba.Namespace != "" {
		ns = waba.Namespace
	}
	var out []network.Template
	next := n.opt.WABAID + "/message_templates?limit=100"
	for pages := 0; next != "" && pages < 1000; pages++ {
		var page struct {
			Data   []jsonObject `json:"data"`
			Paging struct {
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := n.call(ctx, http.MethodGet, next, nil, &page); err != nil {
			return nil, mapCallError(err)
		}
		for _, raw := range page.Data {
			def, apiErr := template.ParseDefinition(raw.withoutKeys("id", "namespace", "parameter_format", "sub_category", "previous_category"), ns)
			if apiErr != nil {
				n.log.Warn("skipping a Cloud template wabiz cannot parse", "template", string(raw), "err", apiErr)
				continue
			}
			out = append(out, network.Template{Namespace: ns, Name: def.Name, Language: def.Language, Category: def.Category, Status: def.Status, Body: def.Raw})
		}
		next = page.Paging.Next
		if next != "" && !strings.HasPrefix(next, n.opt.GraphURL) {
			// Only follow pages on the Graph host we were given: the token
			// goes with the request.
			if u, err := url.Parse(next); err != nil || u.Host != hostOf(n.opt.GraphURL) {
				return nil, fmt.Errorf("cloud: refusing to follow a templates page on another host: %s", next)
			}
		}
	}
	return out, nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
