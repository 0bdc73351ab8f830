package profile

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"net/http"

	"github.com/wabiz/wabiz/internal/apierr"
)

// Photo limits (spec §8.4).
const (
	// MaxPhotoBytes is the largest upload accepted.
	MaxPhotoBytes = 5 << 20
	// MaxPhotoSide is the side of the stored square, at most.
	MaxPhotoSide = 640
	// maxPhotoPixels bounds the decoded size so that a small, highly
	// compressed file cannot make the server allocate gigabytes.
	maxPhotoPixels = 40_000_000
	photoQuality   = 85
)

// ProcessPhoto turns an uploaded image into what is stored and shown: the
// centred square of the picture, scaled down to at most 640 px, as JPEG.
// The type is read from the bytes, not from the Content-Type header, since
// clients often send a generic one.
func ProcessPhoto(raw []byte) ([]byte, error) {
	switch {
	case len(raw) == 0:
		return nil, apierr.New(1008, "No data found")
	case len(raw) > MaxPhotoBytes:
		return nil, PhotoTooLarge()
	}
	var decode func([]byte) (image.Image, error)
	switch http.DetectContentType(raw) {
	case "image/jpeg":
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	case "image/png":
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	default:
		return nil, apierr.New(1009, "Photo must be a JPEG or PNG image")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, apierr.New(1009, "Photo could not be decoded")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPhotoPixels {
		return nil, apierr.Newf(1009, "Photo dimensions %dx%d are not allowed: at most %d pixels", cfg.Width, cfg.Height, maxPhotoPixels)
	}
	img, err := decode(raw)
	if err != nil {
		return nil, apierr.New(1009, "Photo could not be decoded")
	}
	out := squareThumbnail(img, MaxPhotoSide)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: photoQuality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// PhotoTooLarge is the 1009 for an upload over MaxPhotoBytes.
func PhotoTooLarge() error {
	return apierr.Newf(1009, "Photo size too large. Max allowed size: %d bytes", MaxPhotoBytes)
}

// squareThumbnail crops the centred square of img and scales it to at most
// max px by averaging the source pixels each target pixel covers (a box
// filter: plain, and free of the aliasing nearest-neighbour would show when
// shrinking a large photo). Images are never enlarged.
func squareThumbnail(img image.Image, max int) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	crop := image.Rect(0, 0, side, side).Add(image.Pt(b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2))
	// Work on RGBA pixels directly: At() through the interface is far too
	// slow for a multi-megapixel source.
	src := image.NewRGBA(image.Rect(0, 0, side, side))
	draw.Draw(src, src.Bounds(), img, crop.Min, draw.Src)
	n := min(side, max)
	if n == side {
		return src
	}
	dst := image.NewRGBA(image.Rect(0, 0, n, n))
	for dy := 0; dy < n; dy++ {
		y0, y1 := dy*side/n, (dy+1)*side/n
		for dx := 0; dx < n; dx++ {
			x0, x1 := dx*side/n, (dx+1)*side/n
			var r, g, bl, a, count uint64
			for y := y0; y < y1; y++ {
				row := src.Pix[y*src.Stride+x0*4 : y*src.Stride+x1*4]
				for i := 0; i < len(row); i += 4 {
					r += uint64(row[i])
					g += uint64(row[i+1])
					bl += uint64(row[i+2])
					a += uint64(row[i+3])
					count++
				}
			}
			o := dy*dst.Stride + dx*4
			dst.Pix[o], dst.Pix[o+1], dst.Pix[o+2], dst.Pix[o+3] = uint8(r/count), uint8(g/count), uint8(bl/count), uint8(a/count)
		}
	}
	return dst
}
