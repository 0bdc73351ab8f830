package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"math/bits"
	"slices"
)

// EncodeWebP writes a paletted picture as a lossless WebP (VP8L), the format
// of stickers: the palette goes in a colour-indexing transform, and with two
// colours eight pixels share one coded byte (four with up to four colours,
// two with up to sixteen). There are no backward references and no colour
// cache, and each prefix code gives every symbol that occurs a length within
// one bit of the others, the most frequent ones the shorter: for the flat
// pictures of few colours it is made for (the samples, the first-party
// stickers) a 512×512 file stays far below the 100 KB sticker limit, and the
// encoder stays small enough to check by eye against the format's
// specification (RFC 9649).
func EncodeWebP(img *image.Paletted) ([]byte, error) {
	width, height := img.Rect.Dx(), img.Rect.Dy()
	colours := len(img.Palette)
	switch {
	case width < 1 || height < 1 || width > 1<<14 || height > 1<<14:
		return nil, errors.New("media: a WebP is 1 to 16384 pixels on each side")
	case colours < 1 || colours > 256:
		return nil, errors.New("media: a WebP palette holds 1 to 256 colours")
	}
	palette := make([]color.NRGBA, colours)
	alphaUsed := uint32(0)
	for i, c := range img.Palette {
		palette[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		if palette[i].A != 0xFF {
			alphaUsed = 1
		}
	}

	var w bitWriter
	w.bits(0x2F, 8) // VP8L signature
	w.bits(uint32(width-1), 14)
	w.bits(uint32(height-1), 14)
	w.bits(alphaUsed, 1)
	w.bits(0, 3) // version

	// The colour-indexing transform, then no further transform.
	w.bits(1, 1)
	w.bits(3, 2)
	w.bits(uint32(colours-1), 8)
	// The palette is a one-row picture of its own, each entry stored as
	// its difference from the one before (per channel, modulo 256).
	table := make([]color.NRGBA, colours)
	prev := color.NRGBA{}
	for i, c := range palette {
		table[i] = color.NRGBA{R: c.R - prev.R, G: c.G - prev.G, B: c.B - prev.B, A: c.A - prev.A}
		prev = c
	}
	w.bits(0, 1) // no colour cache
	writePixels(&w, table)
	w.bits(0, 1) // end of transforms

	widthBits := 0 // log2 of the pixels that share one coded byte
	switch {
	case colours <= 2:
		widthBits = 3
	case colours <= 4:
		widthBits = 2
	case colours <= 16:
		widthBits = 1
	}
	perByte := 1 << widthBits
	bitsPerIndex := 8 >> widthBits
	packedWidth := (width + perByte - 1) / perByte
	packed := make([]color.NRGBA, 0, packedWidth*height)
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		row := img.Pix[(y-img.Rect.Min.Y)*img.Stride:]
		for x := 0; x < width; x += perByte {
			var b uint8
			for i := 0; i < perByte && x+i < width; i++ {
				index := row[x+i]
				if int(index) >= colours {
					return nil, errors.New("media: a pixel's index is outside the palette")
				}
				b |= index << (i * bitsPerIndex) // the leftmost pixel in the lowest bits
			}
			packed = append(packed, color.NRGBA{G: b})
		}
	}
	w.bits(0, 1) // no colour cache
	w.bits(0, 1) // one set of prefix codes for the whole picture
	writePixels(&w, packed)

	chunk := riffChunk("VP8L", w.bytes())
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+len(chunk)))
	out.WriteString("WEBP")
	out.Write(chunk)
	return out.Bytes(), nil
}

// VP8L alphabet sizes: green also holds the 24 backward-reference length
// prefixes (unused here), and the distance code must be present even though
// no pixel refers back.
const (
	greenAlphabet    = 256 + 24
	channelAlphabet  = 256
	distanceAlphabet = 40
)

// writePixels writes the five prefix codes of pixels (green, red, blue,
// alpha, distance) and then every pixel as four literals.
func writePixels(w *bitWriter, pixels []color.NRGBA) {
	var hist [4][]int
	for i, size := range []int{greenAlphabet, channelAlphabet, channelAlphabet, channelAlphabet} {
		hist[i] = make([]int, size)
	}
	for _, p := range pixels {
		hist[0][p.G]++
		hist[1][p.R]++
		hist[2][p.B]++
		hist[3][p.A]++
	}
	var codes [4]prefixCode
	for i := range codes {
		codes[i] = newPrefixCode(hist[i])
		codes[i].writeHeader(w)
	}
	distance := newPrefixCode(make([]int, distanceAlphabet))
	distance.writeHeader(w)
	for _, p := range pixels {
		codes[0].put(w, int(p.G))
		codes[1].put(w, int(p.R))
		codes[2].put(w, int(p.B))
		codes[3].put(w, int(p.A))
	}
}

// prefixCode is a canonical prefix code over an alphabet. A code of one
// symbol takes no bits at all.
type prefixCode struct {
	symbols []int    // the symbols that occur, most frequent first
	lengths []uint8  // per symbol of the alphabet; 0 when absent
	codes   []uint32 // bit-reversed, as the least-significant-first writer emits them
}

// newPrefixCode builds the code for a histogram; an empty one gets the
// single symbol 0.
func newPrefixCode(hist []int) prefixCode {
	c := prefixCode{lengths: make([]uint8, len(hist))}
	for s, n := range hist {
		if n > 0 {
			c.symbols = append(c.symbols, s)
		}
	}
	if len(c.symbols) == 0 {
		c.symbols = []int{0}
	}
	slices.SortStableFunc(c.symbols, func(a, b int) int { return hist[b] - hist[a] })
	if k := len(c.symbols); k > 1 {
		// A complete code of k symbols with lengths d-1 and d, d = ⌈log2 k⌉.
		d := uint8(bits.Len(uint(k - 1)))
		short := 1<<d - k
		for i, s := range c.symbols {
			c.lengths[s] = d
			if i < short {
				c.lengths[s] = d - 1
			}
		}
	}
	c.codes = canonicalCodes(c.lengths)
	return c
}

// canonicalCodes assigns codes as DEFLATE and VP8L do: shorter codes
// first, and within a length in symbol order.
func canonicalCodes(lengths []uint8) []uint32 {
	var count, next [16]uint32
	for _, l := range lengths {
		if l > 0 {
			count[l]++
		}
	}
	code := uint32(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint32, len(lengths))
	for s, l := range lengths {
		if l > 0 {
			codes[s] = bits.Reverse32(next[l]) >> (32 - l)
			next[l]++
		}
	}
	return codes
}

func (c *prefixCode) put(w *bitWriter, symbol int) {
	w.bits(c.codes[symbol], uint(c.lengths[symbol]))
}

// codeLengthOrder is the order in which VP8L stores the lengths of the code
// that codes code lengths.
var codeLengthOrder = [19]int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// writeHeader writes the code: the "simple" form for one or two symbols
// below 256, else every symbol's length, each coded with a code over the
// lengths that occur.
func (c *prefixCode) writeHeader(w *bitWriter) {
	if len(c.symbols) <= 2 && slices.Max(c.symbols) < 256 {
		w.bits(1, 1)
		w.bits(uint32(len(c.symbols)-1), 1)
		first := uint32(c.symbols[0])
		if first <= 1 {
			w.bits(0, 1)
			w.bits(first, 1)
		} else {
			w.bits(1, 1)
			w.bits(first, 8)
		}
		if len(c.symbols) == 2 {
			w.bits(uint32(c.symbols[1]), 8)
		}
		return
	}
	w.bits(0, 1)
	lengthHist := make([]int, len(codeLengthOrder))
	for _, l := range c.lengths {
		lengthHist[l]++
	}
	only, distinct := 0, 0
	for l, n := range lengthHist {
		if n > 0 {
			only, distinct = l, distinct+1
		}
	}
	if distinct == 1 {
		// A one-symbol code would take no bits, which VP8L allows for the
		// pixels' codes but not for this one: pair it with an unused length.
		lengthHist[(only+1)%16]++
	}
	lengthCode := newPrefixCode(lengthHist)
	stored := 4
	for i, s := range codeLengthOrder {
		if lengthCode.lengths[s] > 0 {
			stored = max(stored, i+1)
		}
	}
	w.bits(uint32(stored-4), 4)
	for _, s := range codeLengthOrder[:stored] {
		w.bits(uint32(lengthCode.lengths[s]), 3)
	}
	w.bits(0, 1) // every symbol's length follows
	for _, l := range c.lengths {
		lengthCode.put(w, int(l))
	}
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
