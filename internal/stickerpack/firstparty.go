package stickerpack

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"sync"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/store"
)

// The first-party pack: what GET /v1/stickerpacks?namespace=whatsapp lists.
// A real client showed WhatsApp's own packs; wabiz has no WhatsApp sticker
// store to mirror, so it ships one pack of its own, drawn here, so that the
// first-party routes and a send of a first-party sticker can be built and
// tested against. Its ids are fixed for good: clients cache sticker ids, so
// a release may redraw a sticker or add one, but never renumber them.
const (
	firstPartyPackID    = "a31485de4657783130f15346d9f84597"
	firstPartyPublisher = "wabiz"
	firstPartyName      = "Shapes"
	// stickerSide is the size WhatsApp draws stickers at.
	stickerSide = 512
)

// firstPartySticker is one sticker of the pack: the media id its image is
// served under and a picture of one colour on a transparent background.
type firstPartySticker struct {
	mediaID string
	name    string
	emojis  []string
	colour  color.NRGBA
	// inside says whether a point belongs to the shape, in coordinates
	// where the picture spans -512..512 on both axes and y grows downwards.
	// Integers only: every node, whatever its processor, must draw the
	// same bytes, and floating point may round differently from one to
	// another (fused multiply-adds).
	inside func(x, y int64) bool
}

var firstPartyStickers = []firstPartySticker{
	{mediaID: "89720d33-9f93-4b22-bdbe-02127b607483", name: "speech-bubble", emojis: []string{"💬", "👋"},
		colour: color.NRGBA{R: 0x25, G: 0xD3, B: 0x66, A: 0xFF}, inside: speechBubble},
	{mediaID: "e6c5c82a-383e-4d05-8533-4f7034fd757d", name: "heart", emojis: []string{"❤️", "😍"},
		colour: color.NRGBA{R: 0xE5, G: 0x39, B: 0x35, A: 0xFF}, inside: heart},
	{mediaID: "1aadae6c-43a1-4e74-8a36-aae58e386cb8", name: "star", emojis: []string{"⭐", "🎉"},
		colour: color.NRGBA{R: 0xFF, G: 0xC1, B: 0x07, A: 0xFF}, inside: star},
	{mediaID: "77cefe01-f872-42ed-afcc-31ab56651d9e", name: "check-mark", emojis: []string{"✅", "👍"},
		colour: color.NRGBA{R: 0x1E, G: 0x88, B: 0xE5, A: 0xFF}, inside: checkMark},
	{mediaID: "0cc0d192-cee3-4524-8776-64ad7b83a9e7", name: "sun", emojis: []string{"☀️", "😎"},
		colour: color.NRGBA{R: 0xFB, G: 0x8C, B: 0x00, A: 0xFF}, inside: sun},
}

// EnsureFirstParty makes the first-party pack exist as this release draws
// it: every image on the media volume under its fixed id first, then the
// pack and its stickers. Every node runs it at start-up, before it serves:
// several at once against one database (and one volume, or each its own)
// write the same files and rows, each only where missing or different, so
// neither a restart nor a restored database or volume loses or duplicates
// the pack.
func (s *Service) EnsureFirstParty(ctx context.Context) error {
	now := s.now()
	stickers := make([]store.Sticker, len(firstPartyStickers))
	images, err := firstPartyImages()
	if err != nil {
		return err
	}
	for i, fs := range firstPartyStickers {
		if _, err := s.media.EnsureBuiltIn(ctx, fs.mediaID, images[i], "image/webp", fs.name+".webp", stickerKind); err != nil {
			return fmt.Errorf("first-party sticker %s: %w", fs.name, err)
		}
		stickers[i] = store.Sticker{PackID: firstPartyPackID, Index: int64(i), ImageDataID: fs.mediaID, Emojis: fs.emojis, CreatedAt: now, UpdatedAt: now}
	}
	pack := store.Stickerpack{ID: firstPartyPackID, Namespace: store.StickerpackNamespaceWhatsApp,
		Publisher: firstPartyPublisher, Name: firstPartyName, CreatedAt: now, UpdatedAt: now}
	if err := s.store.EnsureStickerpack(ctx, pack, stickers); err != nil {
		return fmt.Errorf("first-party stickerpack: %w", err)
	}
	return nil
}

// firstPartyImages are the stickers' files, drawn once per process (some
// tens of milliseconds, which every test server would otherwise spend
// again).
var firstPartyImages = sync.OnceValues(func() ([][]byte, error) {
	images := make([][]byte, len(firstPartyStickers))
	for i, fs := range firstPartyStickers {
		var err error
		if images[i], err = fs.webp(); err != nil {
			return nil, fmt.Errorf("draw first-party sticker %s: %w", fs.name, err)
		}
	}
	return images, nil
})

// webp draws the sticker, sampling each pixel at its centre.
func (fs firstPartySticker) webp() ([]byte, error) {
	img := image.NewPaletted(image.Rect(0, 0, stickerSide, stickerSide), color.Palette{color.NRGBA{}, fs.colour})
	for py := range stickerSide {
		for px := range stickerSide {
			if fs.inside(int64(2*px+1-stickerSide), int64(2*py+1-stickerSide)) {
				img.SetColorIndex(px, py, 1)
			}
		}
	}
	return media.EncodeWebP(img)
}

type point struct{ x, y int64 }

func speechBubble(x, y int64) bool {
	return disc(x, y, point{0, -50}, 370) || inPolygon(x, y, []point{{-280, 150}, {-50, 280}, {-410, 435}})
}

// heart is two discs on the outer tangents from its tip.
func heart(x, y int64) bool {
	return disc(x, y, point{-190, -195}, 215) || disc(x, y, point{190, -195}, 215) ||
		inPolygon(x, y, []point{{0, 415}, {362, -66}, {190, -195}, {-190, -195}, {-362, -66}})
}

// star has five points, one up, on a circle of radius 470 (the inner
// corners on one of 190).
func star(x, y int64) bool {
	return inPolygon(x, y, []point{{0, -440}, {112, -124}, {447, -115}, {181, 89}, {276, 410},
		{0, 220}, {-276, 410}, {-181, 89}, {-447, -115}, {-112, -124}})
}

// checkMark is a disc with a tick cut out of it.
func checkMark(x, y int64) bool {
	const stroke = 66
	tick := nearSegment(x, y, point{-230, 10}, point{-60, 185}, stroke) || nearSegment(x, y, point{-60, 185}, point{255, -165}, stroke)
	return disc(x, y, point{0, 0}, 450) && !tick
}

// sun is a disc with eight rays.
func sun(x, y int64) bool {
	if disc(x, y, point{0, 0}, 230) {
		return true
	}
	for _, ray := range [][2]point{{{300, 0}, {460, 0}}, {{212, 212}, {325, 325}}, {{0, 300}, {0, 460}}, {{-212, 212}, {-325, 325}},
		{{-300, 0}, {-460, 0}}, {{-212, -212}, {-325, -325}}, {{0, -300}, {0, -460}}, {{212, -212}, {325, -325}}} {
		if nearSegment(x, y, ray[0], ray[1], 40) {
			return true
		}
	}
	return false
}

func disc(x, y int64, c point, r int64) bool {
	return (x-c.x)*(x-c.x)+(y-c.y)*(y-c.y) <= r*r
}

// inPolygon is the even-odd rule: a ray to the right crosses the edges an
// odd number of times from inside. The crossing test is the edge's line
// equation multiplied out, so it stays in integers.
func inPolygon(x, y int64, corners []point) bool {
	in := false
	for i := range corners {
		a, b := corners[i], corners[(i+1)%len(corners)]
		if (a.y > y) == (b.y > y) {
			continue
		}
		// x < a.x + (y-a.y)(b.x-a.x)/(b.y-a.y)
		lhs, rhs := (x-a.x)*(b.y-a.y), (y-a.y)*(b.x-a.x)
		if b.y > a.y && lhs < rhs || b.y < a.y && lhs > rhs {
			in = !in
		}
	}
	return in
}

// nearSegment says whether (x, y) is closer than d to the segment a-b.
func nearSegment(x, y int64, a, b point, d int64) bool {
	dx, dy := b.x-a.x, b.y-a.y
	px, py := x-a.x, y-a.y
	along, length2 := px*dx+py*dy, dx*dx+dy*dy
	switch {
	case along <= 0:
		return px*px+py*py < d*d
	case along >= length2:
		qx, qy := x-b.x, y-b.y
		return qx*qx+qy*qy < d*d
	}
	across := px*dy - py*dx
	return across*across < d*d*length2
}
