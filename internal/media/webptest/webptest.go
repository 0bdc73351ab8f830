// Package webptest decodes lossless WebP files in tests, so that what wabiz
// generates (the sandbox's sample sticker, the first-party stickers) is
// checked pixel by pixel without a dependency. It is written from the
// format's specification (RFC 9649), not from wabiz's encoder, and reads a
// subset of it: the colour-indexing transform, both forms of prefix code,
// literal pixels. Anything else (other transforms, a colour cache, meta
// prefix codes, backward references, lossy VP8) is an error, as is a code
// that is not complete or a stream that ends early.
package webptest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
)

// Decode returns the picture of a RIFF/WEBP file holding one VP8L chunk.
func Decode(data []byte) (*image.NRGBA, error) {
	if len(data) < 21 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" || string(data[12:16]) != "VP8L" {
		return nil, errors.New("webptest: not a RIFF/WEBP file with a VP8L chunk")
	}
	if riff := binary.LittleEndian.Uint32(data[4:]); int(riff) != len(data)-8 {
		return nil, fmt.Errorf("webptest: RIFF size %d, file has %d bytes after it", riff, len(data)-8)
	}
	size := int(binary.LittleEndian.Uint32(data[16:]))
	if 20+size+size%2 != len(data) {
		return nil, fmt.Errorf("webptest: VP8L chunk of %d bytes in a file of %d", size, len(data))
	}
	r := &reader{data: data[20 : 20+size]}
	if r.read(8) != 0x2F {
		return nil, errors.New("webptest: no VP8L signature")
	}
	width, height := int(r.read(14))+1, int(r.read(14))+1
	r.read(1) // alpha hint
	if v := r.read(3); v != 0 {
		return nil, fmt.Errorf("webptest: VP8L version %d", v)
	}

	var palette []color.NRGBA
	widthBits := 0
	for r.read(1) == 1 {
		if kind := r.read(2); kind != 3 || palette != nil {
			return nil, fmt.Errorf("webptest: transform %d is not supported", kind)
		}
		colours := int(r.read(8)) + 1
		table, err := r.entropyImage(colours, 1, false)
		if err != nil {
			return nil, fmt.Errorf("webptest: colour table: %w", err)
		}
		palette = make([]color.NRGBA, colours)
		prev := color.NRGBA{}
		for i, d := range table {
			prev = color.NRGBA{R: prev.R + d.R, G: prev.G + d.G, B: prev.B + d.B, A: prev.A + d.A}
			palette[i] = prev
		}
		switch {
		case colours <= 2:
			widthBits = 3
		case colours <= 4:
			widthBits = 2
		case colours <= 16:
			widthBits = 1
		}
	}
	codedWidth := (width + 1<<widthBits - 1) >> widthBits
	pixels, err := r.entropyImage(codedWidth, height, true)
	if err != nil {
		return nil, err
	}
	if r.overrun {
		return nil, errors.New("webptest: the VP8L stream ends early")
	}

	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	for y := range height {
		for x := range width {
			p := pixels[y*codedWidth+x>>widthBits]
			if palette != nil {
				bitsPerIndex := 8 >> widthBits
				index := int(p.G>>((x&(1<<widthBits-1))*bitsPerIndex)) & (1<<bitsPerIndex - 1)
				p = color.NRGBA{} // an index past the table is transparent black
				if index < len(palette) {
					p = palette[index]
				}
			}
			img.SetNRGBA(x, y, p)
		}
	}
	return img, nil
}

type reader struct {
	data    []byte
	pos     uint // in bits
	overrun bool
}

func (r *reader) read(n uint) uint32 {
	var v uint32
	for i := range n {
		byteAt := (r.pos + i) / 8
		if int(byteAt) >= len(r.data) {
			r.overrun = true
			continue
		}
		v |= uint32(r.data[byteAt]>>((r.pos+i)%8)&1) << i
	}
	r.pos += n
	return v
}

// entropyImage reads a colour-cache flag, (for the main picture) the meta
// prefix code flag, the five prefix codes and width×height literal pixels.
func (r *reader) entropyImage(width, height int, main bool) ([]color.NRGBA, error) {
	if r.read(1) == 1 {
		return nil, errors.New("a colour cache is not supported")
	}
	if main && r.read(1) == 1 {
		return nil, errors.New("meta prefix codes are not supported")
	}
	var codes [5]*code
	for i, size := range []int{256 + 24, 256, 256, 256, 40} {
		c, err := r.code(size)
		if err != nil {
			return nil, fmt.Errorf("prefix code %d: %w", i, err)
		}
		codes[i] = c
	}
	out := make([]color.NRGBA, width*height)
	for i := range out {
		g := codes[0].symbol(r)
		if g >= 256 {
			return nil, fmt.Errorf("pixel %d is a backward reference, which is not supported", i)
		}
		out[i] = color.NRGBA{G: uint8(g), R: uint8(codes[1].symbol(r)), B: uint8(codes[2].symbol(r)), A: uint8(codes[3].symbol(r))}
		if r.overrun {
			return nil, fmt.Errorf("the stream ends at pixel %d", i)
		}
	}
	return out, nil
}

// code is a canonical prefix code, decoded bit by bit.
type code struct {
	only    int // the symbol of a one-symbol code (which reads no bits), else -1
	symbols map[[2]int]int
}

var codeLengthOrder = [19]int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

func (r *reader) code(alphabet int) (*code, error) {
	lengths := make([]int, alphabet)
	if r.read(1) == 1 { // simple
		count := int(r.read(1)) + 1
		first := int(r.read(uint(1 + 7*r.read(1))))
		lengths[first] = 1
		if count == 2 {
			second := int(r.read(8))
			if second == first {
				return nil, errors.New("a simple code names one symbol twice")
			}
			lengths[second] = 1
		}
		return newCode(lengths)
	}
	var lengthLengths [19]int
	for _, s := range codeLengthOrder[:4+r.read(4)] {
		lengthLengths[s] = int(r.read(3))
	}
	lengthCode, err := newCode(lengthLengths[:])
	if err != nil {
		return nil, fmt.Errorf("code-length code: %w", err)
	}
	limit := alphabet
	if r.read(1) == 1 {
		limit = 2 + int(r.read(uint(2+2*r.read(3))))
		if limit > alphabet {
			return nil, errors.New("max_symbol past the alphabet")
		}
	}
	prev := 8
	for s := 0; s < alphabet && limit > 0 && !r.overrun; limit-- {
		l := lengthCode.symbol(r)
		repeat, value := 1, l
		switch l {
		case 16:
			repeat, value = 3+int(r.read(2)), prev
		case 17:
			repeat, value = 3+int(r.read(3)), 0
		case 18:
			repeat, value = 11+int(r.read(7)), 0
		}
		if s+repeat > alphabet {
			return nil, errors.New("code lengths run past the alphabet")
		}
		for range repeat {
			lengths[s] = value
			s++
		}
		if l < 16 && l != 0 {
			prev = l
		}
	}
	return newCode(lengths)
}

// newCode assigns canonical codes and insists on a complete code (the only
// exception being a single symbol, which takes no bits).
func newCode(lengths []int) (*code, error) {
	c := &code{only: -1, symbols: map[[2]int]int{}}
	var count [16]int
	used := 0
	for s, l := range lengths {
		if l > 15 {
			return nil, fmt.Errorf("code length %d", l)
		}
		if l > 0 {
			count[l]++
			used++
			c.only = s
		}
	}
	switch used {
	case 0:
		return nil, errors.New("a code without symbols")
	case 1:
		return c, nil
	}
	c.only = -1
	space := 0 // in units of 2^-15
	for l := 1; l < 16; l++ {
		space += count[l] << (15 - l)
	}
	if space != 1<<15 {
		return nil, fmt.Errorf("the code is not complete (%d/32768)", space)
	}
	var next [16]int
	value := 0
	for l := 1; l < 16; l++ {
		value = (value + count[l-1]) << 1
		next[l] = value
	}
	for s, l := range lengths {
		if l > 0 {
			c.symbols[[2]int{l, next[l]}] = s
			next[l]++
		}
	}
	return c, nil
}

func (c *code) symbol(r *reader) int {
	if c.only >= 0 {
		return c.only
	}
	value := 0
	for l := 1; l < 16; l++ {
		value = value<<1 | int(r.read(1))
		if s, ok := c.symbols[[2]int{l, value}]; ok {
			return s
		}
	}
	r.overrun = true // a complete code always ends within 15 bits
	return 0
}
