package message

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// The worked example of spec §5.1.3, byte for byte.
func TestOutboundIDMatchesTheSpecExample(t *testing.T) {
	key := []byte{0x4a, 0x7c, 0x19, 0xe2, 0xb0, 0x5d, 0x8f, 0x33, 0x11}
	got := encodeID(outboundDirection, "15550001111", key)
	if want := "gBGGFVUAAREfAglKfBnisF2PMxE"; got != want {
		t.Fatalf("encodeID = %q, want %q", got, want)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(got)
	wantBytes := []byte{0x80, 0x11, 0x86, 0x15, 0x55, 0x00, 0x01, 0x11, 0x1f, 0x02, 0x09,
		0x4a, 0x7c, 0x19, 0xe2, 0xb0, 0x5d, 0x8f, 0x33, 0x11}
	if !bytes.Equal(raw, wantBytes) {
		t.Fatalf("bytes = % x, want % x", raw, wantBytes)
	}
}

// The spec's inbound sample starts like ours: same header and number, then
// a 16-byte key.
func TestInboundIDHasTheSpecLayout(t *testing.T) {
	sample := "ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B"
	decoded, err := decodeID(sample)
	if err != nil || decoded.outbound || decoded.waID != "15550001111" || len(decoded.key) != 16 {
		t.Fatalf("decodeID(sample) = %+v, %v", decoded, err)
	}
	if got := encodeID(inboundDirection, "15550001111", decoded.key); got != sample {
		t.Fatalf("encodeID = %q, want %q", got, sample)
	}
}

func TestNewIDsHavePrefixesLengthsAndRoundTrip(t *testing.T) {
	cases := []struct {
		waID       string
		bcdLenByte byte
	}{
		{"15550001111", 0x86},     // 11 digits: odd, 0xf filler
		{"447700900123", 0x06},    // 12 digits: even
		{"12345678", 0x04},        // shortest wa_id
		{"123456789012345", 0x88}, // longest wa_id
	}
	for _, c := range cases {
		out := NewOutboundID(c.waID)
		in := NewInboundID(c.waID)
		if !strings.HasPrefix(out, "gB") || !IsOutboundID(out) || IsInboundID(out) {
			t.Errorf("outbound id %q for %s: wrong prefix or not recognised", out, c.waID)
		}
		if !strings.HasPrefix(in, "AB") || !IsInboundID(in) || IsOutboundID(in) {
			t.Errorf("inbound id %q for %s: wrong prefix or not recognised", in, c.waID)
		}
		for _, id := range []string{out, in} {
			raw, err := base64.RawURLEncoding.DecodeString(id)
			if err != nil || raw[2] != c.bcdLenByte {
				t.Errorf("%q: length byte % x, want %#x (err %v)", id, raw[2:3], c.bcdLenByte, err)
			}
			decoded, err := decodeID(id)
			if err != nil || decoded.waID != c.waID {
				t.Errorf("decodeID(%q) = %+v, %v; want number %s", id, decoded, err, c.waID)
			}
			if decoded.outbound != (id == out) {
				t.Errorf("decodeID(%q).outbound = %v", id, decoded.outbound)
			}
		}
		if d, _ := decodeID(out); len(d.key) != outboundKeyLen {
			t.Errorf("outbound key length %d", len(d.key))
		}
		if d, _ := decodeID(in); len(d.key) != inboundKeyLen {
			t.Errorf("inbound key length %d", len(d.key))
		}
	}
	if got := len(NewOutboundID("15550001111")); got != 27 {
		t.Errorf("outbound id length %d, want 27 like Meta's", got)
	}
}

func TestIDsAreUnique(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, 2*n)
	for i := 0; i < n; i++ {
		for _, id := range []string{NewOutboundID("15550001111"), NewInboundID("15550001111")} {
			if seen[id] {
				t.Fatalf("duplicate id %q after %d ids", id, len(seen))
			}
			seen[id] = true
		}
	}
}

// Ids must never panic or overflow the length byte, whatever callers pass.
func TestEncodeIDToleratesOddInput(t *testing.T) {
	for _, waID := range []string{"", "abc", "+1 555", strings.Repeat("9", 500)} {
		id := NewOutboundID(waID)
		if !strings.HasPrefix(id, "gB") {
			t.Errorf("NewOutboundID(%q) = %q", waID, id)
		}
		if _, err := decodeID(id); err != nil {
			t.Errorf("decodeID(NewOutboundID(%q)): %v", waID, err)
		}
	}
}

func TestIDRecognition(t *testing.T) {
	cases := []struct {
		id                string
		outbound, inbound bool
	}{
		{"gBGGFVUAAREfAglKfBnisF2PMxE", true, false},
		{"gBGGeZRAZ1NvAgn4gdjDH8IpKyM", true, false}, // captured from a real client
		{"gBEGkYiEB1VXAglK1ZEqA1YKPrU", true, false}, // captured from a real client
		{"ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B", false, true},
		{"ABGGeZRAZ1NvAgo-sO98aw3w7J9b", false, true}, // captured; has '-'
		{"", false, false},
		{"gB", false, false},
		{"gBshort", false, false},
		{"wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTdCNTg5RjY1MEMyRjlGMjRGNgA=", false, false},
		{"gBGGFVUAAREfAglKfBnisF2PMxE=", false, false}, // padding is not in our alphabet
		{"gBGGFVUAAREfAglKfBnisF2P/xE", false, false},
		{"gBGGFVUAAREfAglKfBnisF2P xE", false, false},
		{"gb" + strings.Repeat("A", 25), false, false},
		{"gB" + strings.Repeat("A", 200), false, false},
	}
	for _, c := range cases {
		if got := IsOutboundID(c.id); got != c.outbound {
			t.Errorf("IsOutboundID(%q) = %v", c.id, got)
		}
		if got := IsInboundID(c.id); got != c.inbound {
			t.Errorf("IsInboundID(%q) = %v", c.id, got)
		}
	}
}

func TestDecodeIDRejectsForeignLayouts(t *testing.T) {
	for _, id := range []string{
		"",
		"!!!",
		base64.RawURLEncoding.EncodeToString([]byte{0x80, 0x11}),                               // too short
		base64.RawURLEncoding.EncodeToString([]byte{0x81, 0x11, 0x01, 0x12, 0x02, 0x00}),       // direction
		base64.RawURLEncoding.EncodeToString([]byte{0x80, 0x12, 0x01, 0x12, 0x02, 0x00}),       // constant
		base64.RawURLEncoding.EncodeToString([]byte{0x80, 0x11, 0x81, 0x12, 0x02, 0x00}),       // odd without filler
		base64.RawURLEncoding.EncodeToString([]byte{0x80, 0x11, 0x01, 0x1a, 0x02, 0x00}),       // non-decimal nibble
		base64.RawURLEncoding.EncodeToString([]byte{0x80, 0x11, 0x01, 0x12, 0x03, 0x00}),       // key marker
		base64.RawURLEncoding.EncodeToString([]byte{0x80, 0x11, 0x01, 0x12, 0x02, 0x05, 0x01}), // key length
		base64.RawURLEncoding.EncodeToString([]byte{0x80, 0x11, 0x05, 0x12, 0x02, 0x00}),       // BCD length
	} {
		if d, err := decodeID(id); err == nil {
			t.Errorf("decodeID(%q) = %+v, want an error", id, d)
		}
	}
}
