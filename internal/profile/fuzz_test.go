package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
	"unicode"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// FuzzProcessPhoto: POST /v1/settings/profile/photo takes any bytes. The
// answer is a documented error, or a JPEG square of at most 640 px.
func FuzzProcessPhoto(f *testing.F) {
	for _, size := range []image.Point{{1, 1}, {7, 3}, {3, 700}, {900, 20}} {
		img := image.NewNRGBA(image.Rect(0, 0, size.X, size.Y))
		for x := 0; x < size.X; x++ {
			img.Set(x, x%size.Y, color.NRGBA{R: uint8(x), G: 90, B: 200, A: uint8(255 - x%256)})
		}
		var p, j bytes.Buffer
		if err := png.Encode(&p, img); err != nil {
			f.Fatal(err)
		}
		if err := jpeg.Encode(&j, img, nil); err != nil {
			f.Fatal(err)
		}
		f.Add(p.Bytes())
		f.Add(j.Bytes())
		f.Add(p.Bytes()[:len(p.Bytes())/2])
	}
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff\x08\x02\x00\x00\x00"))
	f.Add([]byte("GIF89a"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := ProcessPhoto(raw)
		if err != nil {
			var apiErr *apierr.Error
			if !errors.As(err, &apiErr) || apiErr.Status != 400 {
				t.Fatalf("error %v: want a 400 API error", err)
			}
			return
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(out))
		if err != nil || format != "jpeg" || cfg.Width != cfg.Height || cfg.Width < 1 || cfg.Width > MaxPhotoSide {
			t.Fatalf("stored photo: %s %dx%d, %v", format, cfg.Width, cfg.Height, err)
		}
	})
}

// FuzzUpdateComplianceInfo: POST /v1/settings/business/compliance_info
// takes any JSON object. The answer is a documented 400 error, or the
// stored information is one a restore accepts and holds no control
// character. One database lives as long as the target, so each input
// updates what the inputs before it stored, as on a server.
func FuzzUpdateComplianceInfo(f *testing.F) {
	for _, s := range []string{
		`{"entity_name":"Lucky Shrub","entity_type":"Partnership","entity_type_custom":"Firm","is_registered":true,` +
			`"customer_care_details":{"email":"c@example.org","mobile_number":"+91 98765-43210"},` +
			`"grievance_officer_details":{"name":"Asha Rao","email":"g@example.org","landline_number":"(022) 1234 5678"}}`,
		`{"entity_type":"Private Company","entity_type_custom":null}`,
		`{"entity_type":"Other","entity_type_custom":"Trust"}`,
		`{"customer_care_details":{"email":""},"grievance_officer_details":null}`,
		`{"entity_name":"a\u0000b","is_registered":"false","customer_care_details":[1]}`,
		`{"grievance_officer_details":{"mobile_number":"+1234567890123456","name":{}}}`,
		`{}`,
	} {
		f.Add(s)
	}
	ctx := context.Background()
	svc := New(Options{Store: storetest.Open(f, store.SQLite)})
	f.Fuzz(func(t *testing.T, body string) {
		var params map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &params) != nil {
			return // the router answers 1025 before the service sees it
		}
		if err := svc.UpdateComplianceInfo(ctx, params); err != nil {
			var apiErr *apierr.Error
			if !errors.As(err, &apiErr) || apiErr.Status != 400 {
				t.Fatalf("%s: %v, want a 400 API error", body, err)
			}
			return
		}
		doc, err := svc.store.GetDocument(ctx, ComplianceDocument)
		if err != nil {
			t.Fatalf("%s accepted, nothing stored: %v", body, err)
		}
		if err := CheckDocument(ComplianceDocument, doc.Body); err != nil {
			t.Fatalf("%s stored %s, which a restore refuses: %v", body, doc.Body, err)
		}
		c, err := svc.ComplianceInfo(ctx)
		if err != nil || c.EntityName == "" || c.EntityType == "" {
			t.Fatalf("%s accepted; GET shows %+v, %v", body, c, err)
		}
		texts := []string{c.EntityName, c.EntityType, c.EntityTypeCustom,
			c.CustomerCare.Email, c.CustomerCare.LandlineNumber, c.CustomerCare.MobileNumber,
			c.GrievanceOfficer.Name, c.GrievanceOfficer.Email, c.GrievanceOfficer.LandlineNumber, c.GrievanceOfficer.MobileNumber}
		if strings.ContainsFunc(strings.Join(texts, ""), unicode.IsControl) {
			t.Fatalf("%s stored a control character: %#v", body, c)
		}
	})
}
