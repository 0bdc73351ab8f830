package profile

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/wabiz/wabiz/internal/apierr"
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
