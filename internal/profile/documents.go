package profile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
)

// CheckDocument reports whether body is a stored document of this package
// (name is one of AboutDocument, PhotoDocument, BusinessDocument,
// ComplianceDocument) that the service can load and would have written
// itself. A restore checks the parts of a backup with it
// before writing them: a backup is the client's to make, and a part no
// request could have set (a 1000-character about, a PIN hash asking for
// terabytes) would otherwise break the nodes that read it.
//
// Control characters in texts are the exception: requests refuse them
// (checkText), but versions before that stored them, and a text with one
// breaks no node, so a backup holding one is restored as it is.
func CheckDocument(name string, body []byte) error {
	decode := func(v any) error {
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("profile: %s does not decode: %w", name, err)
		}
		return nil
	}
	switch name {
	case AboutDocument:
		var d aboutDoc
		if err := decode(&d); err != nil {
			return err
		}
		if d.Text == "" { // unset
			return nil
		}
		if err := checkAbout(d.Text); err != nil {
			return err
		}
	case PhotoDocument:
		var d photoDoc
		if err := decode(&d); err != nil {
			return err
		}
		if len(d.JPEG) == 0 { // unset
			return nil
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(d.JPEG))
		if err != nil || len(d.JPEG) > MaxPhotoBytes || cfg.Width > MaxPhotoSide || cfg.Height > MaxPhotoSide {
			return fmt.Errorf("profile: %s is not a JPEG of at most %d px", name, MaxPhotoSide)
		}
	case BusinessDocument:
		var b Business
		if err := decode(&b); err != nil {
			return err
		}
		if err := checkBusiness(b); err != nil {
			return err
		}
	case ComplianceDocument:
		var d complianceDoc
		if err := decode(&d); err != nil {
			return err
		}
		if err := d.checkStored(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("profile: %s is not a profile document", name)
	}
	return nil
}
