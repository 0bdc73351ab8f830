package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/png"
	"regexp"
	"strconv"
	"testing"
)

// Structural checks of the samples: what a decoder would trip over first.

func TestSamplePNGDecodes(t *testing.T) {
	data, _ := Sample(KindImage)
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
		t.Fatalf("bounds %v", b)
	}
}

func TestSampleWebPStructure(t *testing.T) {
	data, _ := Sample(KindSticker)
	if string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" || string(data[12:16]) != "VP8L" {
		t.Fatalf("header % x", data[:16])
	}
	if riff := binary.LittleEndian.Uint32(data[4:]); int(riff) != len(data)-8 {
		t.Fatalf("RIFF size %d, file %d", riff, len(data))
	}
	chunk := binary.LittleEndian.Uint32(data[16:])
	if int(chunk)+20 > len(data) || data[20] != 0x2F {
		t.Fatalf("VP8L chunk size %d, signature %#x", chunk, data[20])
	}
	bits := binary.LittleEndian.Uint32(data[21:])
	w, h, version := bits&0x3FFF+1, bits>>14&0x3FFF+1, bits>>29
	if w != 512 || h != 512 || version != 0 {
		t.Fatalf("%dx%d version %d", w, h, version)
	}
}

func TestSampleOggPages(t *testing.T) {
	data, _ := Sample(KindVoice)
	var packets [][]byte
	pages := 0
	for off := 0; off < len(data); pages++ {
		page := data[off:]
		if len(page) < 27 || string(page[:4]) != "OggS" {
			t.Fatalf("page %d: no capture pattern at %d", pages, off)
		}
		n := int(page[26])
		size := 27 + n
		var lens []int
		for _, l := range page[27 : 27+n] {
			lens = append(lens, int(l))
			size += int(l)
		}
		stored := binary.LittleEndian.Uint32(page[22:])
		zeroed := append([]byte(nil), page[:size]...)
		copy(zeroed[22:26], []byte{0, 0, 0, 0})
		if got := oggCRC(zeroed); got != stored || got == 0 {
			t.Fatalf("page %d: CRC %#x, stored %#x", pages, got, stored)
		}
		if seq := binary.LittleEndian.Uint32(page[18:]); int(seq) != pages {
			t.Fatalf("page %d has sequence %d", pages, seq)
		}
		body := page[27+n : size]
		for _, l := range lens {
			packets = append(packets, body[:l])
			body = body[l:]
		}
		off += size
	}
	if pages != 3 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) || !bytes.HasPrefix(packets[1], []byte("OpusTags")) {
		t.Fatalf("%d pages, first packets %q %q", pages, packets[0], packets[1])
	}
	if len(packets) != 2+opusFrames {
		t.Fatalf("%d packets", len(packets))
	}
	// The reference CRC: a known vector for Ogg's polynomial (no reflection,
	// zero init), which is not the zlib CRC-32.
	if got := oggCRC([]byte("123456789")); got != 0x89A1897F {
		t.Fatalf("oggCRC(123456789) = %#x", got)
	}
	if oggCRC([]byte("123456789")) == crc32.ChecksumIEEE([]byte("123456789")) {
		t.Fatal("Ogg CRC must differ from zlib's")
	}
}

// walkBoxes returns the boxes of an ISO BMFF byte range by type, checking
// that their sizes tile the range exactly.
func walkBoxes(t *testing.T, data []byte, base int) map[string][2]int {
	t.Helper()
	out := map[string][2]int{}
	for off := 0; off < len(data); {
		if len(data)-off < 8 {
			t.Fatalf("trailing %d bytes at %d", len(data)-off, base+off)
		}
		size := int(binary.BigEndian.Uint32(data[off:]))
		kind := string(data[off+4 : off+8])
		if size < 8 || off+size > len(data) {
			t.Fatalf("box %q at %d has size %d", kind, base+off, size)
		}
		out[kind] = [2]int{base + off, size}
		off += size
	}
	return out
}

func TestSampleMP4Boxes(t *testing.T) {
	data, _ := Sample(KindVideo)
	top := walkBoxes(t, data, 0)
	for _, k := range []string{"ftyp", "moov", "mdat"} {
		if _, ok := top[k]; !ok {
			t.Fatalf("no %s box", k)
		}
	}
	sub := func(parent [2]int, skip int) map[string][2]int {
		return walkBoxes(t, data[parent[0]+8+skip:parent[0]+parent[1]], parent[0]+8+skip)
	}
	moov := sub(top["moov"], 0)
	trak := sub(moov["trak"], 0)
	mdia := sub(trak["mdia"], 0)
	minf := sub(mdia["minf"], 0)
	stbl := sub(minf["stbl"], 0)
	for _, k := range []string{"stsd", "stts", "stsc", "stsz", "stco"} {
		if _, ok := stbl[k]; !ok {
			t.Fatalf("no %s in stbl", k)
		}
	}
	stco := data[stbl["stco"][0]:]
	offset := int(binary.BigEndian.Uint32(stco[16:]))
	stsz := data[stbl["stsz"][0]:]
	sampleSize := int(binary.BigEndian.Uint32(stsz[20:]))
	mdat := top["mdat"]
	if offset != mdat[0]+8 || sampleSize != mdat[1]-8 {
		t.Fatalf("chunk offset %d size %d; mdat at %d size %d", offset, sampleSize, mdat[0], mdat[1])
	}
	// The sample is one length-prefixed IDR NAL unit.
	nalLen := int(binary.BigEndian.Uint32(data[offset:]))
	if nalLen != sampleSize-4 || data[offset+4] != 0x65 {
		t.Fatalf("NAL length %d of sample %d, header %#x", nalLen, sampleSize, data[offset+4])
	}
}

func TestH264EmulationPrevention(t *testing.T) {
	got := nal(0x65, []byte{0, 0, 1, 0, 0, 0, 0, 0, 3, 5})
	want := []byte{0x65, 0, 0, 3, 1, 0, 0, 3, 0, 0, 3, 0, 3, 5}
	if !bytes.Equal(got, want) {
		t.Fatalf("nal = % x, want % x", got, want)
	}
	var e expGolomb
	for _, v := range []uint32{0, 1, 2, 7, 25} {
		e.ue(v)
	}
	// 1 | 010 | 011 | 0001000 | 000011010 -> 23 bits + stop bit
	if got := fmt.Sprintf("% x", e.trailing()); got != "a6 20 35" {
		t.Fatalf("ue bits %s", got)
	}
}

func TestSamplePDFXref(t *testing.T) {
	data, _ := Sample(KindDocument)
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no startxref in %q", data)
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(data[xref:], []byte("xref\n0 6\n")) {
		t.Fatalf("startxref %d points at %q", xref, data[xref:min(len(data), xref+10)])
	}
	entries := data[xref+len("xref\n0 6\n"):]
	for i := 0; i < 6; i++ {
		entry := entries[i*20 : (i+1)*20]
		if i == 0 {
			if string(entry) != "0000000000 65535 f \n" {
				t.Fatalf("entry 0 %q", entry)
			}
			continue
		}
		off, _ := strconv.Atoi(string(entry[:10]))
		if want := fmt.Sprintf("%d 0 obj\n", i); !bytes.HasPrefix(data[off:], []byte(want)) {
			t.Fatalf("object %d at %d: %q", i, off, data[off:off+10])
		}
	}
	// The content stream's /Length is its exact byte count.
	s := regexp.MustCompile(`/Length (\d+) >>\nstream\n`).FindSubmatchIndex(data)
	length, _ := strconv.Atoi(string(data[s[2]:s[3]]))
	if !bytes.HasPrefix(data[s[1]+length:], []byte("endstream")) {
		t.Fatal("stream /Length is wrong")
	}
}
