package backup

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// A sealed backup is
//
//	magic "WABIZBAK" | format version (1 byte) | KDF id (1 byte)
//	| argon2 time (4) | memory KiB (4) | threads (1) | salt (16)
//	| XChaCha20-Poly1305 nonce (24) | ciphertext+tag
//
// The whole header is the AEAD's additional data, so changing a KDF
// parameter or the version is detected like any other tampering. The
// parameters travel with the blob so a later wabiz can raise them and still
// open old backups.

var magic = []byte("WABIZBAK")

const (
	formatVersion = 1
	kdfArgon2id   = 1
	saltLen       = 16
	headerLen     = 8 + 1 + 1 + 4 + 4 + 1 + saltLen + chacha20poly1305.NonceSizeX
)

// KDFParams are argon2id's cost parameters.
type KDFParams struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is RFC 9106's second recommended option.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// Upper bounds on the parameters a blob may ask for: without them a forged
// blob could make the server spend minutes or gigabytes before the tag check.
const (
	maxKDFTime   = 16
	maxKDFMemory = 1 << 20 // 1 GiB
)

// errUnreadable covers every way a blob fails to open — wrong password,
// tampering, truncation, unknown version — deliberately alike, so the answer
// tells an attacker nothing about which.
var errUnreadable = errors.New("backup: data cannot be decrypted")

func seal(plain, password []byte, p KDFParams) ([]byte, error) {
	hdr := make([]byte, 0, headerLen)
	hdr = append(hdr, magic...)
	hdr = append(hdr, formatVersion, kdfArgon2id)
	hdr = binary.BigEndian.AppendUint32(hdr, p.Time)
	hdr = binary.BigEndian.AppendUint32(hdr, p.MemoryKiB)
	hdr = append(hdr, p.Threads)
	salt := make([]byte, saltLen+chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	hdr = append(hdr, salt...) // salt then nonce
	key := argon2.IDKey(password, salt[:saltLen], p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return aead.Seal(hdr, salt[saltLen:], plain, hdr), nil
}

// header is the clear part of a sealed blob.
type header struct {
	raw         []byte // authenticated as the AEAD's additional data
	kdf         KDFParams
	salt, nonce []byte
}

// parseHeader reads and bounds the header; deriving a key from it is then
// affordable.
func parseHeader(blob []byte) (header, error) {
	if len(blob) < headerLen+chacha20poly1305.Overhead || !bytes.Equal(blob[:8], magic) {
		return header{}, errUnreadable
	}
	hdr := blob[:headerLen]
	if hdr[8] != formatVersion || hdr[9] != kdfArgon2id {
		return header{}, fmt.Errorf("%w: format %d, KDF %d", errUnreadable, hdr[8], hdr[9])
	}
	p := KDFParams{
		Time:      binary.BigEndian.Uint32(hdr[10:14]),
		MemoryKiB: binary.BigEndian.Uint32(hdr[14:18]),
		Threads:   hdr[18],
	}
	if p.Time == 0 || p.Time > maxKDFTime || p.MemoryKiB < 8*uint32(max(p.Threads, 1)) || p.MemoryKiB > maxKDFMemory || p.Threads == 0 {
		return header{}, errUnreadable
	}
	return header{raw: hdr, kdf: p, salt: hdr[19 : 19+saltLen], nonce: hdr[19+saltLen:]}, nil
}

func open(blob, password []byte) ([]byte, error) {
	h, err := parseHeader(blob)
	if err != nil {
		return nil, err
	}
	key := argon2.IDKey(password, h.salt, h.kdf.Time, h.kdf.MemoryKiB, h.kdf.Threads, chacha20poly1305.KeySize)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, h.nonce, blob[headerLen:], h.raw)
	if err != nil {
		return nil, errUnreadable
	}
	return plain, nil
}
