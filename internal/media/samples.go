package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// Sample files stand in for the bytes of media a simulated user sends
// without any (the sandbox). Each is small but a valid file of its kind,
// generated here rather than shipped, so the sandbox needs no fixtures and
// a client that decodes what it downloads gets a real picture, sound, video
// or document.

// Sample returns a fresh sample file for kind and its MIME type; nil and ""
// for an unknown kind.
func Sample(kind string) (data []byte, mimeType string) {
	switch kind {
	case KindImage:
		return samplePNG(), "image/png"
	case KindSticker:
		return sampleWebP(), "image/webp"
	case KindAudio, KindVoice:
		return sampleOggOpus(), mimeOggOpus
	case KindVideo:
		return sampleMP4(), "video/mp4"
	case KindDocument:
		return samplePDF(), "application/pdf"
	}
	return nil, ""
}

// whatsappGreen is the colour of the samples.
var whatsappGreen = color.NRGBA{R: 0x25, G: 0xD3, B: 0x66, A: 0xFF}

// samplePNG is a 64×64 8-bit RGBA picture: a green disc on white, drawn with
// the standard library's encoder (WhatsApp wants 8-bit RGB/RGBA PNGs).
func samplePNG() []byte {
	const size = 64
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := x-size/2, y-size/2
			c := color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
			if dx*dx+dy*dy <= (size/2-4)*(size/2-4) {
				c = whatsappGreen
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return buf.Bytes()
}

// sampleWebP is a 512×512 lossless WebP (the sticker size) of one colour.
// VP8L codes every channel with a prefix code of a single symbol, which
// takes no bits per pixel: the whole picture is its header and five codes.
func sampleWebP() []byte {
	const side = 512
	var w bitWriter
	w.bits(0x2F, 8)    // VP8L signature
	w.bits(side-1, 14) // width - 1
	w.bits(side-1, 14) // height - 1
	w.bits(0, 1)       // alpha_is_used: opaque
	w.bits(0, 3)       // version
	w.bits(0, 1)       // no transform
	w.bits(0, 1)       // no colour cache
	w.bits(0, 1)       // no meta prefix codes
	single8 := func(symbol uint32) {
		w.bits(1, 1) // simple code length code
		w.bits(0, 1) // one symbol
		w.bits(1, 1) // of 8 bits
		w.bits(symbol, 8)
	}
	single8(uint32(whatsappGreen.G)) // green (and length/cache codes)
	single8(uint32(whatsappGreen.R))
	single8(uint32(whatsappGreen.B))
	single8(uint32(whatsappGreen.A))
	w.bits(1, 1) // distance code: simple,
	w.bits(0, 1) // one symbol,
	w.bits(0, 1) // of 1 bit:
	w.bits(0, 1) // symbol 0 (never used: no back-references)
	vp8l := w.bytes()

	var b bytes.Buffer
	chunk := riffChunk("VP8L", vp8l)
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+len(chunk)))
	b.WriteString("WEBP")
	b.Write(chunk)
	return b.Bytes()
}

// riffChunk is a RIFF chunk with its pad byte for odd sizes.
func riffChunk(fourCC string, data []byte) []byte {
	out := make([]byte, 0, 8+len(data)+1)
	out = append(out, fourCC...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// bitWriter packs bits least-significant first, as VP8L reads them.
type bitWriter struct {
	buf   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	w.acc |= uint64(v) << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	out := w.buf
	if w.nbits > 0 {
		out = append(out, byte(w.acc))
	}
	return out
}

// samplePDF is a one-page PDF with a line of text, its cross-reference table
// pointing at the exact byte offset of each object.
func samplePDF() []byte {
	content := "BT /F1 24 Tf 72 770 Td (wabiz sandbox document) Tj ET\n"
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, obj := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, obj)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n", len(objects)+1)
	b.WriteString("0000000000 65535 f \n") // each entry is exactly 20 bytes
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}
