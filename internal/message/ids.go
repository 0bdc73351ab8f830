package message

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
)

// Message ids copy the layout of real On-Premises ids (spec §5.1.3) rather
// than being arbitrary random strings: integrations and log tooling match on
// the "gB" (outbound) and "AB" (inbound) prefixes, and some decode the
// counterpart's number out of the id. The layout, in bytes:
//
//	direction  0x80 sent by the business, 0x00 received
//	0x11       constant in every captured id
//	length     number of BCD bytes; bit 0x80 set when the digit count is odd
//	           and the last low nibble is the 0xf filler
//	number     the counterpart's wa_id in packed BCD, high nibble first
//	0x02       constant
//	key length then that many random bytes
//
// encoded as base64url without padding.
const (
	outboundDirection byte = 0x80
	inboundDirection  byte = 0x00
	idConstant        byte = 0x11
	keyMarker         byte = 0x02
	oddDigitsFlag     byte = 0x80
	bcdFiller         byte = 0x0f

	// The captured outbound ids carry 9 key bytes (27 characters in all)
	// and inbound ones 16, which is what the prefixes and lengths that
	// clients have seen imply.
	outboundKeyLen = 9
	inboundKeyLen  = 16

	// maxIDDigits bounds the BCD part so the length byte never overflows
	// its 7 bits, whatever a caller passes; real wa_ids have at most 15.
	maxIDDigits = 32

	// Loose bounds for IsOutboundID/IsInboundID: captured ids are 26 to 36
	// characters; the margin admits ids of other builds without admitting
	// arbitrary text.
	minIDChars = 20
	maxIDChars = 128
)

// NewOutboundID returns a fresh id ("gB...") for a message the business sends
// to waID. The 72 random bits make collisions negligible without any
// coordination between nodes.
func NewOutboundID(waID string) string {
	return encodeID(outboundDirection, waID, randomKey(outboundKeyLen))
}

// NewInboundID returns a fresh id ("AB...") for a message received from
// waID, as the sandbox network and the Cloud bridge need to mint them.
func NewInboundID(waID string) string {
	return encodeID(inboundDirection, waID, randomKey(inboundKeyLen))
}

// IsOutboundID reports whether id looks like an id this API hands out for
// business-sent messages. It checks the form only; it does not prove the id
// exists, and it accepts ids minted by Meta's own builds.
func IsOutboundID(id string) bool { return looksLikeID(id, "gB") }

// IsInboundID is IsOutboundID for received messages ("AB...").
func IsInboundID(id string) bool { return looksLikeID(id, "AB") }

func looksLikeID(id, prefix string) bool {
	if len(id) < minIDChars || len(id) > maxIDChars || !strings.HasPrefix(id, prefix) {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isBase64URLChar(id[i]) {
			return false
		}
	}
	return true
}

func isBase64URLChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func randomKey(n int) []byte {
	key := make([]byte, n)
	// crypto/rand.Read never fails since Go 1.24 (it aborts the program
	// instead), so there is no error to handle.
	_, _ = rand.Read(key)
	return key
}

// encodeID builds an id with a given key; exposed to tests so the spec's
// worked example can be checked byte for byte. Non-digits in waID are
// skipped: callers pass normalised wa_ids, and anything else must not panic.
func encodeID(direction byte, waID string, key []byte) string {
	digits := make([]byte, 0, len(waID))
	for i := 0; i < len(waID) && len(digits) < maxIDDigits; i++ {
		if c := waID[i]; '0' <= c && c <= '9' {
			digits = append(digits, c-'0')
		}
	}
	bcdLen := (len(digits) + 1) / 2
	lengthByte := byte(bcdLen)
	if len(digits)%2 == 1 {
		lengthByte |= oddDigitsFlag
	}
	if len(key) > 255 {
		key = key[:255]
	}

	buf := make([]byte, 0, 3+bcdLen+2+len(key))
	buf = append(buf, direction, idConstant, lengthByte)
	for i := 0; i < len(digits); i += 2 {
		low := bcdFiller
		if i+1 < len(digits) {
			low = digits[i+1]
		}
		buf = append(buf, digits[i]<<4|low)
	}
	buf = append(buf, keyMarker, byte(len(key)))
	buf = append(buf, key...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// decodedID is an id taken apart; used by tests and kept for future
// routing (finding a chat from a message id).
type decodedID struct {
	outbound bool
	waID     string
	key      []byte
}

var errMalformedID = errors.New("message id does not have the On-Premises layout")

func decodeID(id string) (decodedID, error) {
	buf, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(buf) < 3 {
		return decodedID{}, errMalformedID
	}
	if (buf[0] != outboundDirection && buf[0] != inboundDirection) || buf[1] != idConstant {
		return decodedID{}, errMalformedID
	}
	bcdLen := int(buf[2] &^ oddDigitsFlag)
	odd := buf[2]&oddDigitsFlag != 0
	rest := buf[3:]
	if len(rest) < bcdLen+2 || bcdLen == 0 && odd {
		return decodedID{}, errMalformedID
	}
	digits := make([]byte, 0, 2*bcdLen)
	for i, b := range rest[:bcdLen] {
		high, low := b>>4, b&0x0f
		if high > 9 {
			return decodedID{}, errMalformedID
		}
		digits = append(digits, '0'+high)
		if i == bcdLen-1 && odd {
			if low != bcdFiller {
				return decodedID{}, errMalformedID
			}
			continue
		}
		if low > 9 {
			return decodedID{}, errMalformedID
		}
		digits = append(digits, '0'+low)
	}
	rest = rest[bcdLen:]
	if rest[0] != keyMarker || int(rest[1]) != len(rest)-2 {
		return decodedID{}, errMalformedID
	}
	return decodedID{outbound: buf[0] == outboundDirection, waID: string(digits), key: rest[2:]}, nil
}
