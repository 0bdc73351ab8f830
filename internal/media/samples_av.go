package media

import (
	"bytes"
	"encoding/binary"
)

// The audio and video samples: an Ogg/Opus voice note and an MP4 holding
// one H.264 frame. Both are written out by hand, byte by byte, from the
// format specifications (RFC 7845 and RFC 6716 for Ogg/Opus, ISO/IEC 14496-12
// and -15 for MP4, ITU-T H.264 for the frame).

// opusSilence is one 20 ms Opus packet of silence: TOC 0xF8 (CELT-only,
// fullband, 20 ms, mono, one frame) and a frame that decodes to silence.
var opusSilence = []byte{0xF8, 0xFF, 0xFE}

const (
	opusPreSkip      = 312 // samples at 48 kHz the decoder drops at the start (libopus's usual value)
	opusFrameSamples = 960 // 20 ms at 48 kHz
	opusFrames       = 50  // one second
)

// sampleOggOpus is one second of mono silence in three Ogg pages: the
// OpusHead and OpusTags headers, then the audio, each page with its CRC.
func sampleOggOpus() []byte {
	head := []byte("OpusHead")
	head = append(head, 1, 1) // version 1, one channel
	head = binary.LittleEndian.AppendUint16(head, opusPreSkip)
	head = binary.LittleEndian.AppendUint32(head, 48000) // input sample rate (informational)
	head = binary.LittleEndian.AppendUint16(head, 0)     // output gain
	head = append(head, 0)                               // channel mapping family 0: mono/stereo

	vendor := "wabiz"
	tags := []byte("OpusTags")
	tags = binary.LittleEndian.AppendUint32(tags, uint32(len(vendor)))
	tags = append(tags, vendor...)
	tags = binary.LittleEndian.AppendUint32(tags, 0) // no user comments

	packets := make([][]byte, opusFrames)
	for i := range packets {
		packets[i] = opusSilence
	}
	const serial = 0x77616269 // "wabi"
	var out []byte
	out = append(out, oggPage(0x02, 0, serial, 0, [][]byte{head})...) // beginning of stream
	out = append(out, oggPage(0x00, 0, serial, 1, [][]byte{tags})...)
	// The granule position of the last page counts every decoded sample,
	// the pre-skip included.
	out = append(out, oggPage(0x04, opusFrames*opusFrameSamples, serial, 2, packets)...) // end of stream
	return out
}

// oggPage builds one page holding whole packets (each under 255 bytes, so
// one lacing value each; a 255-byte packet would need a terminating 0).
func oggPage(headerType byte, granule uint64, serial, sequence uint32, packets [][]byte) []byte {
	p := []byte("OggS")
	p = append(p, 0, headerType)
	p = binary.LittleEndian.AppendUint64(p, granule)
	p = binary.LittleEndian.AppendUint32(p, serial)
	p = binary.LittleEndian.AppendUint32(p, sequence)
	crcAt := len(p)
	p = binary.LittleEndian.AppendUint32(p, 0) // CRC, filled in below
	p = append(p, byte(len(packets)))
	for _, pk := range packets {
		if len(pk) >= 255 {
			panic("media: sample Ogg packet too long for one lacing value")
		}
		p = append(p, byte(len(pk)))
	}
	for _, pk := range packets {
		p = append(p, pk...)
	}
	binary.LittleEndian.PutUint32(p[crcAt:], oggCRC(p))
	return p
}

// oggCRCTable is CRC-32 with polynomial 0x04C11DB7, not reflected, initial
// value 0 and no final XOR: Ogg's own variant (not the zlib one).
var oggCRCTable = func() [256]uint32 {
	var t [256]uint32
	for i := range t {
		r := uint32(i) << 24
		for j := 0; j < 8; j++ {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04C11DB7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(page []byte) uint32 {
	var crc uint32
	for _, b := range page {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^b]
	}
	return crc
}

// sampleMP4 is a 16×16 H.264 (Constrained Baseline) video of a single
// 40 ms black frame, laid out for streaming: ftyp, moov, then mdat.
func sampleMP4() []byte {
	sps, pps, idr := h264Frame()
	sample := binary.BigEndian.AppendUint32(nil, uint32(len(idr)))
	sample = append(sample, idr...)

	ftyp := box("ftyp", []byte("isom"), u32(0x200), []byte("isomiso2avc1mp41"))
	// The chunk offset depends on moov's size, which does not depend on
	// the offset's value: build once to measure, then for real.
	moov := mp4Moov(sps, pps, uint32(len(sample)), 0)
	offset := uint32(len(ftyp) + len(moov) + 8)
	moov = mp4Moov(sps, pps, uint32(len(sample)), offset)
	out := append(ftyp, moov...)
	return append(out, box("mdat", sample)...)
}

const (
	mp4Timescale = 1000
	mp4Duration  = 40 // ms: one frame at 25 fps
	mp4Side      = 16
)

func mp4Moov(sps, pps []byte, sampleSize, chunkOffset uint32) []byte {
	matrix := cat(u32(0x10000), u32(0), u32(0), u32(0), u32(0x10000), u32(0), u32(0), u32(0), u32(0x40000000))
	mvhd := fullBox("mvhd", 0, 0, u32(0), u32(0), u32(mp4Timescale), u32(mp4Duration),
		u32(0x00010000), u16(0x0100), make([]byte, 10), matrix, make([]byte, 24), u32(2))
	tkhd := fullBox("tkhd", 0, 3, u32(0), u32(0), u32(1), u32(0), u32(mp4Duration),
		make([]byte, 8), u16(0), u16(0), u16(0), u16(0), matrix, u32(mp4Side<<16), u32(mp4Side<<16))
	mdhd := fullBox("mdhd", 0, 0, u32(0), u32(0), u32(mp4Timescale), u32(mp4Duration), u16(0x55C4), u16(0)) // language "und"
	hdlr := fullBox("hdlr", 0, 0, u32(0), []byte("vide"), make([]byte, 12), []byte("VideoHandler\x00"))
	vmhd := fullBox("vmhd", 0, 1, u16(0), make([]byte, 6))
	dinf := box("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1)))

	avcC := box("avcC", []byte{1, sps[1], sps[2], sps[3], 0xFF, 0xE1}, u16(uint16(len(sps))), sps,
		[]byte{1}, u16(uint16(len(pps))), pps)
	avc1 := box("avc1", make([]byte, 6), u16(1), // reserved, data_reference_index
		make([]byte, 16),           // pre_defined and reserved
		u16(mp4Side), u16(mp4Side), // width, height
		u32(0x00480000), u32(0x00480000), u32(0), // 72 dpi, reserved
		u16(1), make([]byte, 32), u16(0x18), u16(0xFFFF), // frame count, compressor name, depth, pre_defined -1
		avcC)
	stbl := box("stbl",
		fullBox("stsd", 0, 0, u32(1), avc1),
		fullBox("stts", 0, 0, u32(1), u32(1), u32(mp4Duration)),
		fullBox("stss", 0, 0, u32(1), u32(1)),
		fullBox("stsc", 0, 0, u32(1), u32(1), u32(1), u32(1)),
		fullBox("stsz", 0, 0, u32(0), u32(1), u32(sampleSize)),
		fullBox("stco", 0, 0, u32(1), u32(chunkOffset)))
	trak := box("trak", tkhd, box("mdia", mdhd, hdlr, box("minf", vmhd, dinf, stbl)))
	return box("moov", mvhd, trak)
}

func box(kind string, parts ...[]byte) []byte {
	body := cat(parts...)
	out := u32(uint32(8 + len(body)))
	out = append(out, kind...)
	return append(out, body...)
}

func fullBox(kind string, version byte, flags uint32, parts ...[]byte) []byte {
	vf := u32(uint32(version)<<24 | flags&0xFFFFFF)
	return box(kind, append([][]byte{vf}, parts...)...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
func u32(v uint32) []byte        { return binary.BigEndian.AppendUint32(nil, v) }
func u16(v uint16) []byte        { return binary.BigEndian.AppendUint16(nil, v) }

// h264Frame returns the SPS, PPS and IDR slice NAL units (without start
// codes) of a 16×16 picture: one macroblock coded as I_PCM, i.e. raw
// samples, which needs no transform or entropy coding to write.
func h264Frame() (sps, pps, idr []byte) {
	var b expGolomb
	b.u(66, 8)   // profile_idc: Baseline
	b.u(0xC0, 8) // constraint_set0 and set1: Constrained Baseline
	b.u(10, 8)   // level_idc 1.0
	b.ue(0)      // seq_parameter_set_id
	b.ue(0)      // log2_max_frame_num_minus4
	b.ue(2)      // pic_order_cnt_type 2: output order = decoding order
	b.ue(0)      // max_num_ref_frames
	b.u(0, 1)    // gaps_in_frame_num_value_allowed_flag
	b.ue(0)      // pic_width_in_mbs_minus1
	b.ue(0)      // pic_height_in_map_units_minus1
	b.u(1, 1)    // frame_mbs_only_flag
	b.u(1, 1)    // direct_8x8_inference_flag
	b.u(0, 1)    // frame_cropping_flag
	b.u(0, 1)    // vui_parameters_present_flag
	sps = nal(0x67, b.trailing())

	b = expGolomb{}
	b.ue(0)   // pic_parameter_set_id
	b.ue(0)   // seq_parameter_set_id
	b.u(0, 1) // entropy_coding_mode_flag: CAVLC
	b.u(0, 1) // bottom_field_pic_order_in_frame_present_flag
	b.ue(0)   // num_slice_groups_minus1
	b.ue(0)   // num_ref_idx_l0_default_active_minus1
	b.ue(0)   // num_ref_idx_l1_default_active_minus1
	b.u(0, 1) // weighted_pred_flag
	b.u(0, 2) // weighted_bipred_idc
	b.se(0)   // pic_init_qp_minus26
	b.se(0)   // pic_init_qs_minus26
	b.se(0)   // chroma_qp_index_offset
	b.u(1, 1) // deblocking_filter_control_present_flag
	b.u(0, 1) // constrained_intra_pred_flag
	b.u(0, 1) // redundant_pic_cnt_present_flag
	pps = nal(0x68, b.trailing())

	b = expGolomb{}
	b.ue(0)   // first_mb_in_slice
	b.ue(7)   // slice_type: I (all slices of the picture)
	b.ue(0)   // pic_parameter_set_id
	b.u(0, 4) // frame_num
	b.ue(0)   // idr_pic_id
	b.u(0, 1) // no_output_of_prior_pics_flag
	b.u(0, 1) // long_term_reference_flag
	b.se(0)   // slice_qp_delta
	b.ue(1)   // disable_deblocking_filter_idc: off
	b.ue(25)  // mb_type: I_PCM
	b.align() // pcm_alignment_zero_bits
	for i := 0; i < 256; i++ {
		b.u(16, 8) // luma: video-range black
	}
	for i := 0; i < 128; i++ {
		b.u(128, 8) // Cb and Cr: neutral
	}
	idr = nal(0x65, b.trailing())
	return sps, pps, idr
}

// nal prefixes the header byte and inserts emulation-prevention bytes, so
// no 00 00 0x (x <= 3) sequence appears inside the unit.
func nal(header byte, rbsp []byte) []byte {
	out := []byte{header}
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// expGolomb writes H.264 syntax elements most-significant bit first.
type expGolomb struct {
	buf   []byte
	acc   byte
	nbits uint
}

func (e *expGolomb) u(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		e.acc = e.acc<<1 | byte(v>>uint(i)&1)
		e.nbits++
		if e.nbits == 8 {
			e.buf = append(e.buf, e.acc)
			e.acc, e.nbits = 0, 0
		}
	}
}

// ue is unsigned Exp-Golomb: n leading zeros, then v+1 in n+1 bits.
func (e *expGolomb) ue(v uint32) {
	x := v + 1
	n := uint(0)
	for x>>(n+1) != 0 {
		n++
	}
	e.u(0, n)
	e.u(x, n+1)
}

// se maps 0, 1, -1, 2, -2 ... onto 0, 1, 2, 3, 4 ...
func (e *expGolomb) se(v int32) {
	if v > 0 {
		e.ue(uint32(2*v - 1))
	} else {
		e.ue(uint32(-2 * v))
	}
}

func (e *expGolomb) align() {
	for e.nbits != 0 {
		e.u(0, 1)
	}
}

// trailing appends the RBSP stop bit and alignment, and returns the bytes.
func (e *expGolomb) trailing() []byte {
	e.u(1, 1)
	e.align()
	return e.buf
}
