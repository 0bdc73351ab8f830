package media

import (
	"bytes"
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

// sampleWebP is a 512×512 lossless WebP (the sticker size) of one colour,
// which takes no bits per pixel: a sandbox user's sticker stays a few dozen
// bytes.
func sampleWebP() []byte {
	img := image.NewPaletted(image.Rect(0, 0, 512, 512), color.Palette{whatsappGreen})
	data, err := EncodeWebP(img)
	if err != nil {
		panic(err) // a fixed, valid picture
	}
	return data
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
