package media

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/wabiz/wabiz/internal/media/webptest"
)

// TestEncodeWebPRoundTrip decodes what the encoder writes and compares every
// pixel, for each way indexes are packed (8, 4, 2 or 1 to a byte), sizes
// that do not fill the last byte of a row, and both forms of prefix code.
func TestEncodeWebPRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name          string
		width, height int
		colours       int
	}{
		{"one pixel", 1, 1, 1},
		{"one colour", 512, 512, 1},
		{"two colours", 512, 512, 2},
		{"two colours, ragged rows", 13, 7, 2},
		{"three colours", 37, 20, 3},
		{"four colours", 64, 3, 4},
		{"five colours", 21, 9, 5},
		{"sixteen colours", 50, 50, 16},
		{"seventeen colours", 33, 17, 17},
		{"every colour", 300, 40, 256},
		{"a wide strip", 16384, 1, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.width), uint64(c.colours)))
			palette := make(color.Palette, c.colours)
			for i := range palette {
				palette[i] = color.NRGBA{R: uint8(rng.Uint32()), G: uint8(rng.Uint32()), B: uint8(rng.Uint32()), A: uint8(rng.Uint32())}
			}
			img := image.NewPaletted(image.Rect(0, 0, c.width, c.height), palette)
			for i := range img.Pix {
				img.Pix[i] = uint8(rng.IntN(c.colours))
			}
			data, err := EncodeWebP(img)
			if err != nil {
				t.Fatal(err)
			}
			got, err := webptest.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if got.Rect != img.Rect {
				t.Fatalf("decoded %v, drew %v", got.Rect, img.Rect)
			}
			for y := range c.height {
				for x := range c.width {
					if want := palette[img.ColorIndexAt(x, y)].(color.NRGBA); got.NRGBAAt(x, y) != want {
						t.Fatalf("pixel (%d,%d) = %v, drew %v", x, y, got.NRGBAAt(x, y), want)
					}
				}
			}
		})
	}
}

// TestEncodeWebPSubImage: a picture cut out of a larger one is encoded by
// its own bounds.
func TestEncodeWebPSubImage(t *testing.T) {
	red, blue := color.NRGBA{R: 0xFF, A: 0xFF}, color.NRGBA{B: 0xFF, A: 0xFF}
	whole := image.NewPaletted(image.Rect(0, 0, 20, 20), color.Palette{red, blue})
	whole.SetColorIndex(5, 6, 1)
	data, err := EncodeWebP(whole.SubImage(image.Rect(5, 6, 9, 8)).(*image.Paletted))
	if err != nil {
		t.Fatal(err)
	}
	got, err := webptest.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rect.Dx() != 4 || got.Rect.Dy() != 2 || got.NRGBAAt(0, 0) != blue || got.NRGBAAt(1, 0) != red || got.NRGBAAt(0, 1) != red {
		t.Fatalf("decoded %v: %v %v %v", got.Rect, got.NRGBAAt(0, 0), got.NRGBAAt(1, 0), got.NRGBAAt(0, 1))
	}
}

func TestEncodeWebPRefuses(t *testing.T) {
	two := color.Palette{color.NRGBA{}, color.NRGBA{A: 0xFF}}
	outside := image.NewPaletted(image.Rect(0, 0, 4, 4), two)
	outside.Pix[5] = 2
	for name, img := range map[string]*image.Paletted{
		"no pixels":          image.NewPaletted(image.Rect(0, 0, 0, 4), two),
		"too wide":           image.NewPaletted(image.Rect(0, 0, 1<<14+1, 1), two),
		"no palette":         image.NewPaletted(image.Rect(0, 0, 4, 4), nil),
		"too many colours":   image.NewPaletted(image.Rect(0, 0, 4, 4), make(color.Palette, 257)),
		"index past palette": outside,
	} {
		if _, err := EncodeWebP(img); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

// TestSampleWebPDecodes: the sandbox's sticker is a 512×512 green picture
// of a few dozen bytes that a sticker send accepts.
func TestSampleWebPDecodes(t *testing.T) {
	data, mimeType := Sample(KindSticker)
	img, err := webptest.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if mimeType != "image/webp" || img.Rect != image.Rect(0, 0, 512, 512) {
		t.Fatalf("%s %v", mimeType, img.Rect)
	}
	for y := range 512 {
		for x := range 512 {
			if img.NRGBAAt(x, y) != whatsappGreen {
				t.Fatalf("pixel (%d,%d) is %v", x, y, img.NRGBAAt(x, y))
			}
		}
	}
	if len(data) > 64 {
		t.Fatalf("the sample takes %d bytes", len(data))
	}
	if err := CheckKind(KindSticker, mimeType, data, int64(len(data))); err != nil {
		t.Fatalf("the sample is not a sendable sticker: %v", err)
	}
}
