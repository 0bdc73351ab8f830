package certs

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// Fuzz targets for the uploads of /v1/certificates: whatever the body, the
// answer is an InvalidError with a text for the client, or material that is
// complete and reads back the same.

// fuzzSeeds are real bundles cut and reordered a few ways, generated once
// per target (a self-signed CA, a server certificate and its key).
func fuzzSeeds(f *testing.F) (seeds [][]byte, now time.Time) {
	now = time.Now()
	b, _, err := EnsureSelfSigned(f.TempDir(), "fuzz.example", now)
	if err != nil {
		f.Fatal(err)
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, []byte("\n")) }
	if _, err := ParseExternal(join(b.KeyPEM, b.CertPEM, b.CAPEM), now); err != nil {
		f.Fatalf("the generated bundle is refused: %v", err) // the seeds would miss the accepting path
	}
	return [][]byte{
		join(b.KeyPEM, b.CertPEM, b.CAPEM),
		join(b.CertPEM, b.CAPEM, b.KeyPEM),
		join(b.CAPEM),
		join(b.CAPEM, b.CAPEM),
		join(b.CertPEM, b.KeyPEM),
		join(b.KeyPEM, b.KeyPEM, b.CertPEM, b.CAPEM),
		join([]byte("comment"), b.CAPEM, []byte("-----BEGIN CERTIFICATE-----\nAAAA")),
		[]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"),
		[]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"),
		[]byte("{}"),
	}, now
}

func checkInvalid(t *testing.T, err error) {
	t.Helper()
	var invalid *InvalidError
	if !errors.As(err, &invalid) || invalid.Msg == "" {
		t.Fatalf("error %T %v: want an InvalidError with a message", err, err)
	}
}

func FuzzParseExternal(f *testing.F) {
	seeds, now := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ext, err := ParseExternal(data, now)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		if ext.Pair.Leaf == nil || ext.Pair.PrivateKey == nil || len(ext.Pair.Certificate) == 0 || len(ext.CAPEM) == 0 {
			t.Fatalf("accepted an incomplete bundle: %+v", ext)
		}
		if _, _, err := ParseCABundle(ext.CAPEM, now); err != nil {
			t.Fatalf("the accepted bundle's CAs do not read back: %v", err)
		}
	})
}

func FuzzParseCABundle(f *testing.F) {
	seeds, now := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pool, out, err := ParseCABundle(data, now)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		if pool == nil || len(out) == 0 {
			t.Fatal("accepted an empty bundle")
		}
		_, again, err := ParseCABundle(out, now)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("the re-encoded bundle does not read back the same: %v", err)
		}
	})
}
