package profile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/network"
)

// EntityTypes are the values entity_type accepts: the On-Premises names,
// matched exactly as the verticals are.
var EntityTypes = []string{
	"Limited liability partnership", "Sole proprietorship", "Partnership",
	"Public Company", "Private Company", "Other",
}

// describedEntityType reports whether an entity type needs its own words
// (entity_type_custom) and is_registered.
func describedEntityType(t string) bool { return t == "Other" || t == "Partnership" }

// Field limits of the compliance information, in characters.
const (
	maxComplianceTextLength = 128 // entity_name, entity_type_custom, the officer's name
	maxPhoneLength          = 32
	minPhoneDigits          = 6
	maxPhoneDigits          = 15 // E.164
)

// CustomerCare is customer_care_details.
type CustomerCare struct {
	Email          string `json:"email"`
	LandlineNumber string `json:"landline_number"`
	MobileNumber   string `json:"mobile_number"`
}

// GrievanceOfficer is grievance_officer_details.
type GrievanceOfficer struct {
	Name           string `json:"name"`
	Email          string `json:"email"`
	LandlineNumber string `json:"landline_number"`
	MobileNumber   string `json:"mobile_number"`
}

// ComplianceInfo is the India compliance information as GET
// /v1/settings/business/compliance_info shows it: every key present, ""
// and false for what was never set, as the business profile does.
type ComplianceInfo struct {
	EntityName       string           `json:"entity_name"`
	EntityType       string           `json:"entity_type"`
	EntityTypeCustom string           `json:"entity_type_custom"`
	IsRegistered     bool             `json:"is_registered"`
	CustomerCare     CustomerCare     `json:"customer_care_details"`
	GrievanceOfficer GrievanceOfficer `json:"grievance_officer_details"`
}

// complianceDoc is the stored form: it keeps whether is_registered was
// ever given, which Other and Partnership require.
type complianceDoc struct {
	EntityName       string           `json:"entity_name"`
	EntityType       string           `json:"entity_type"`
	EntityTypeCustom string           `json:"entity_type_custom"`
	IsRegistered     *bool            `json:"is_registered,omitempty"`
	CustomerCare     CustomerCare     `json:"customer_care_details"`
	GrievanceOfficer GrievanceOfficer `json:"grievance_officer_details"`
}

func (d complianceDoc) unset() bool { return d == complianceDoc{} }

func (d complianceDoc) view() ComplianceInfo {
	return ComplianceInfo{EntityName: d.EntityName, EntityType: d.EntityType, EntityTypeCustom: d.EntityTypeCustom,
		IsRegistered: d.IsRegistered != nil && *d.IsRegistered, CustomerCare: d.CustomerCare, GrievanceOfficer: d.GrievanceOfficer}
}

func (d complianceDoc) network() network.ComplianceInfo {
	return network.ComplianceInfo{EntityName: d.EntityName, EntityType: d.EntityType, EntityTypeCustom: d.EntityTypeCustom,
		IsRegistered: d.IsRegistered,
		CustomerCare: network.ComplianceContact{Email: d.CustomerCare.Email,
			LandlineNumber: d.CustomerCare.LandlineNumber, MobileNumber: d.CustomerCare.MobileNumber},
		GrievanceOfficer: network.ComplianceContact{Name: d.GrievanceOfficer.Name, Email: d.GrievanceOfficer.Email,
			LandlineNumber: d.GrievanceOfficer.LandlineNumber, MobileNumber: d.GrievanceOfficer.MobileNumber},
	}
}

type fieldKind int

const (
	textField fieldKind = iota
	entityTypeField
	emailField
	phoneField
)

// complianceField is one string of the compliance information. group is
// the object it sits in ("" for the top level); errors name it as
// "group.key". The required fields are what the Cloud API's update needs,
// so that what wabiz accepts can be published.
type complianceField struct {
	group, key string
	kind       fieldKind
	required   bool
	at         func(*complianceDoc) *string
}

func (f complianceField) name() string {
	if f.group == "" {
		return f.key
	}
	return f.group + "." + f.key
}

const (
	customerCareGroup     = "customer_care_details"
	grievanceOfficerGroup = "grievance_officer_details"
)

var complianceFields = []complianceField{
	{"", "entity_name", textField, true, func(d *complianceDoc) *string { return &d.EntityName }},
	{"", "entity_type", entityTypeField, true, func(d *complianceDoc) *string { return &d.EntityType }},
	{"", "entity_type_custom", textField, false, func(d *complianceDoc) *string { return &d.EntityTypeCustom }},
	{customerCareGroup, "email", emailField, true, func(d *complianceDoc) *string { return &d.CustomerCare.Email }},
	{customerCareGroup, "landline_number", phoneField, false, func(d *complianceDoc) *string { return &d.CustomerCare.LandlineNumber }},
	{customerCareGroup, "mobile_number", phoneField, false, func(d *complianceDoc) *string { return &d.CustomerCare.MobileNumber }},
	{grievanceOfficerGroup, "name", textField, true, func(d *complianceDoc) *string { return &d.GrievanceOfficer.Name }},
	{grievanceOfficerGroup, "email", emailField, true, func(d *complianceDoc) *string { return &d.GrievanceOfficer.Email }},
	{grievanceOfficerGroup, "landline_number", phoneField, false, func(d *complianceDoc) *string { return &d.GrievanceOfficer.LandlineNumber }},
	{grievanceOfficerGroup, "mobile_number", phoneField, false, func(d *complianceDoc) *string { return &d.GrievanceOfficer.MobileNumber }},
}

// check applies the field's rule to a value ("" is unset and passes; the
// required fields are checked on the whole information).
func (f complianceField) check(v string) *apierr.Error {
	name := f.name()
	switch f.kind {
	case textField:
		if utf8.RuneCountInString(v) > maxComplianceTextLength {
			return tooLong(name, maxComplianceTextLength)
		}
	case entityTypeField:
		if v != "" && !slices.Contains(EntityTypes, v) {
			return apierr.InvalidValue(name, v)
		}
	case emailField:
		if utf8.RuneCountInString(v) > maxEmailLength {
			return tooLong(name, maxEmailLength)
		}
		if a, err := mail.ParseAddress(v); v != "" && (err != nil || a.Address != v) {
			return apierr.InvalidValue(name, v)
		}
	case phoneField:
		if utf8.RuneCountInString(v) > maxPhoneLength {
			return tooLong(name, maxPhoneLength)
		}
		if v != "" && !validPhone(v) {
			return apierr.InvalidValue(name, v)
		}
	}
	return nil
}

// validPhone: an optional leading "+", then digits with spaces, hyphens,
// dots or parentheses between them, 6 to 15 digits in all.
func validPhone(v string) bool {
	digits := 0
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= minPhoneDigits && digits <= maxPhoneDigits
}

// complianceChange is what one POST asks for, checked field by field.
type complianceChange struct {
	set          []func(*complianceDoc)
	customGiven  bool // a non-empty entity_type_custom was sent
	isRegistered *bool
}

func (c complianceChange) empty() bool { return len(c.set) == 0 && c.isRegistered == nil }

// decodeCompliance reads a POST body: every error of every field, or the
// changes it makes.
func decodeCompliance(body map[string]json.RawMessage) (complianceChange, *apierr.Error) {
	var errs apierr.List
	var c complianceChange
	groups := map[string]map[string]json.RawMessage{"": body}
	for _, g := range []string{customerCareGroup, grievanceOfficerGroup} {
		raw, ok := body[g]
		if !ok || string(raw) == "null" {
			continue
		}
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) != nil {
			errs.Merge(apierr.InvalidValue(g, string(raw)))
			continue
		}
		groups[g] = inner
	}
	for _, f := range complianceFields {
		params, ok := groups[f.group]
		if !ok {
			continue
		}
		v, err := stringParam(params, f.key)
		if err != nil {
			errs.Merge(apierr.InvalidValue(f.name(), string(params[f.key])))
			continue
		}
		if v == nil {
			continue
		}
		if err := checkText(f.name(), *v, false); err != nil {
			errs.Merge(err)
			continue
		}
		if err := f.check(*v); err != nil {
			errs.Merge(err)
			continue
		}
		val, at := *v, f.at
		c.set = append(c.set, func(d *complianceDoc) { *at(d) = val })
		if f.key == "entity_type_custom" && val != "" {
			c.customGiven = true
		}
	}
	if raw, ok := body["is_registered"]; ok && string(raw) != "null" {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			errs.Merge(apierr.InvalidValue("is_registered", string(raw)))
		} else {
			c.isRegistered = &b
		}
	}
	return c, errs.Err()
}

// apply merges a change into the stored information and checks the
// result as a whole: the required fields, and entity_type_custom and
// is_registered against entity_type. A custom type kept from an earlier
// Other or Partnership is dropped when the type no longer takes one.
func (c complianceChange) apply(d complianceDoc) (complianceDoc, *apierr.Error) {
	for _, set := range c.set {
		set(&d)
	}
	if c.isRegistered != nil {
		v := *c.isRegistered
		d.IsRegistered = &v
	}
	if !describedEntityType(d.EntityType) && !c.customGiven {
		d.EntityTypeCustom = ""
	}
	return d, d.checkComplete()
}

// checkComplete reports what a stored information lacks or holds wrongly.
func (d complianceDoc) checkComplete() *apierr.Error {
	var errs apierr.List
	for _, f := range complianceFields {
		if f.required && *f.at(&d) == "" {
			errs.Merge(apierr.MissingParam(f.name()))
		}
	}
	switch {
	case d.EntityType == "":
	case describedEntityType(d.EntityType):
		if d.EntityTypeCustom == "" {
			errs.Merge(apierr.MandatoryFor("entity_type_custom", "entity_type", d.EntityType))
		}
		if d.IsRegistered == nil {
			errs.Merge(apierr.MandatoryFor("is_registered", "entity_type", d.EntityType))
		}
	case d.EntityTypeCustom != "":
		errs.Merge(apierr.NotRequired("entity_type_custom", "entity_type", d.EntityType))
	}
	return errs.Err()
}

// checkStored applies every rule but the control characters to a stored
// information (see CheckDocument).
func (d complianceDoc) checkStored() *apierr.Error {
	if d.unset() {
		return nil
	}
	for _, f := range complianceFields {
		if err := f.check(*f.at(&d)); err != nil {
			return err
		}
	}
	return d.checkComplete()
}

func (s *Service) complianceDoc(ctx context.Context) (complianceDoc, error) {
	var d complianceDoc
	err := readDoc(ctx, s.store, ComplianceDocument, &d)
	return d, err
}

// ComplianceInfo returns the stored compliance information (every field
// empty when never set).
func (s *Service) ComplianceInfo(ctx context.Context) (ComplianceInfo, error) {
	d, err := s.complianceDoc(ctx)
	return d.view(), err
}

// UpdateComplianceInfo is POST /v1/settings/business/compliance_info: as
// the business profile's POST, the fields present replace the stored ones
// (inside customer_care_details and grievance_officer_details too), the
// others stay, "" clears an optional field, and unknown keys are ignored.
// Every field is checked, and the result must be complete, before
// anything is stored; then it is published (see PublishComplianceInfo).
func (s *Service) UpdateComplianceInfo(ctx context.Context, body map[string]json.RawMessage) error {
	change, bad := decodeCompliance(body)
	if bad != nil {
		return bad
	}
	if change.empty() {
		d, err := s.complianceDoc(ctx)
		if err != nil {
			return err
		}
		if err := d.checkComplete(); err != nil {
			return err
		}
		return nil
	}
	if err := writeDoc(ctx, s.store, ComplianceDocument, func(old []byte) ([]byte, error) {
		var d complianceDoc
		if len(old) > 0 {
			if err := json.Unmarshal(old, &d); err != nil {
				return nil, fmt.Errorf("profile: stored %s is corrupt: %w", ComplianceDocument, err)
			}
		}
		next, bad := change.apply(d)
		if bad != nil {
			return nil, bad
		}
		return json.Marshal(next)
	}, s.now()); err != nil {
		return err
	}
	return s.PublishComplianceInfo(ctx)
}

// PublishComplianceInfo tells the network the stored compliance
// information, when it has somewhere to show it and one is stored. A
// failed publication is a warning, not an error: the information is kept
// by wabiz, and the Cloud refuses it for numbers it does not show it for.
// A restore calls it too.
func (s *Service) PublishComplianceInfo(ctx context.Context) error {
	if s.compliance == nil {
		return nil
	}
	d, err := s.complianceDoc(ctx)
	if err != nil {
		return err
	}
	if d.unset() {
		return nil
	}
	if err := s.compliance.PublishComplianceInfo(ctx, d.network()); err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		s.log.Warn("the compliance information is kept by wabiz but was not published to the network", "err", err)
	}
	return nil
}
