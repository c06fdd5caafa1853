package spool

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// On-disk block format.
//
// A segment (and so a sealed batch, which is the same bytes renamed) is a
// sequence of self-contained blocks. Each block is one independent compressed
// stream of whole JSON lines, preceded by a 40-byte CloudScout header that
// plain decoders skip:
//
//   - zstd: an 8-byte skippable-frame prefix (magic 0x184D2A5C, length 40),
//     the header, then one zstd frame.
//   - gzip: one gzip member whose FEXTRA field holds a 'C','S' subfield with
//     the header, then the deflate data and the gzip trailer.
//
// The header (little endian): version u8, flags u8, reserved u16, raw length
// u32, records u32, payload length u32, CRC-32C of the payload u32, min and
// max record time as Unix nanoseconds i64, CRC-32C of the preceding 36 bytes.
// The payload is everything after the header up to the next block.
//
// zstd frames are written without the optional content checksum: the
// payload CRC-32C covers them. Frames that have one (segments and batches
// written before it was dropped) read and verify the same.
const (
	hdrLen     = 40
	hdrVersion = 1

	// maxBlockRaw bounds what one block may claim to hold; a header that
	// claims more is treated as corrupt rather than trusted with memory.
	maxBlockRaw = 64 << 20
	// maxBlockPayload bounds the compressed size a header may claim.
	maxBlockPayload = maxBlockRaw + maxBlockRaw/8 + 1<<16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// codec is one compression format of segments and batches.
type codec struct {
	name   string // manifest Compression value
	ext    string // batch file extension, also the key's
	prefix []byte // constant bytes before the header of every block
}

var (
	zstdCodec = &codec{
		name:   "zstd",
		ext:    ".jsonl.zst",
		prefix: []byte{0x5C, 0x2A, 0x4D, 0x18, hdrLen, 0, 0, 0},
	}
	gzipCodec = &codec{
		name: "gzip",
		ext:  ".jsonl.gz",
		// ID1 ID2 CM=deflate FLG=FEXTRA MTIME=0 XFL=0 OS=unknown XLEN=44,
		// then subfield 'C','S' of length 40.
		prefix: []byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 4 + hdrLen, 0, 'C', 'S', hdrLen, 0},
	}
	codecs = []*codec{zstdCodec, gzipCodec}
)

func codecByName(name string) (*codec, bool) {
	for _, c := range codecs {
		if c.name == name {
			return c, true
		}
	}
	return nil, false
}

// blockHeader is the decoded CloudScout header of one block.
type blockHeader struct {
	rawLen     uint32
	records    uint32
	payloadLen uint32
	payloadCRC uint32
	minTs      int64
	maxTs      int64
}

func (h *blockHeader) put(b []byte) {
	b[0] = hdrVersion
	b[1], b[2], b[3] = 0, 0, 0
	binary.LittleEndian.PutUint32(b[4:], h.rawLen)
	binary.LittleEndian.PutUint32(b[8:], h.records)
	binary.LittleEndian.PutUint32(b[12:], h.payloadLen)
	binary.LittleEndian.PutUint32(b[16:], h.payloadCRC)
	binary.LittleEndian.PutUint64(b[20:], uint64(h.minTs))
	binary.LittleEndian.PutUint64(b[28:], uint64(h.maxTs))
	binary.LittleEndian.PutUint32(b[36:], crc32.Checksum(b[:36], castagnoli))
}

// formatError marks bytes that are not a valid block, as opposed to an I/O
// failure while reading them.
type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

func badf(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

func isFormatError(err error) bool {
	var fe *formatError
	return errors.As(err, &fe)
}

func parseHeader(b []byte) (blockHeader, error) {
	var h blockHeader
	if crc32.Checksum(b[:36], castagnoli) != binary.LittleEndian.Uint32(b[36:]) {
		return h, badf("block header checksum mismatch")
	}
	if b[0] != hdrVersion {
		return h, badf("unknown block version %d", b[0])
	}
	h.rawLen = binary.LittleEndian.Uint32(b[4:])
	h.records = binary.LittleEndian.Uint32(b[8:])
	h.payloadLen = binary.LittleEndian.Uint32(b[12:])
	h.payloadCRC = binary.LittleEndian.Uint32(b[16:])
	h.minTs = int64(binary.LittleEndian.Uint64(b[20:]))
	h.maxTs = int64(binary.LittleEndian.Uint64(b[28:]))
	switch {
	case h.records == 0 || uint64(h.records) > uint64(h.rawLen):
		return h, badf("block header claims %d records in %d bytes", h.records, h.rawLen)
	case h.rawLen > maxBlockRaw || h.payloadLen > maxBlockPayload || h.payloadLen == 0:
		return h, badf("block header sizes out of range (raw %d, payload %d)", h.rawLen, h.payloadLen)
	case h.minTs > h.maxTs:
		return h, badf("block header time range inverted")
	}
	return h, nil
}

// encoder compresses raw blocks into the on-disk block format. It is safe
// for concurrent use.
type encoder struct {
	c     *codec
	zenc  *zstd.Encoder
	flate sync.Pool // *flate.Writer
}

func newEncoder(c *codec) (*encoder, error) {
	e := &encoder{c: c}
	if c == zstdCodec {
		// One shared encoder: EncodeAll is safe for concurrent use and keeps
		// one internal state per concurrent caller. No zstd content checksum
		// (xxhash of the raw data, a few % of the collector's CPU): every
		// block's header carries a CRC-32C of the compressed payload, checked
		// on every read, decoding checks the raw length and line count, and
		// the manifest holds the SHA-256 of the whole batch. Plain decoders
		// accept frames without the checksum.
		z, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderCRC(false),
			zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
		e.zenc = z
	}
	return e, nil
}

// sliceWriter appends to a byte slice, so deflate output lands directly in
// the block buffer.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// gzipLevel trades a little ratio for several times the speed of level 6.
const gzipLevel = 5

// encode appends one complete block holding raw to dst.
func (e *encoder) encode(dst, raw []byte, records uint32, minTs, maxTs int64) []byte {
	dst = append(dst, e.c.prefix...)
	hdrAt := len(dst)
	var zero [hdrLen]byte
	dst = append(dst, zero[:]...)
	payloadAt := len(dst)
	if e.zenc != nil {
		dst = e.zenc.EncodeAll(raw, dst)
	} else {
		fw, _ := e.flate.Get().(*flate.Writer)
		sw := &sliceWriter{b: dst}
		if fw == nil {
			// Only an invalid level makes NewWriter fail; gzipLevel is valid.
			fw, _ = flate.NewWriter(sw, gzipLevel)
		} else {
			fw.Reset(sw)
		}
		// Writes to a sliceWriter cannot fail.
		_, _ = fw.Write(raw)
		_ = fw.Close()
		e.flate.Put(fw)
		dst = binary.LittleEndian.AppendUint32(sw.b, crc32.ChecksumIEEE(raw))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(raw)))
	}
	payload := dst[payloadAt:]
	h := blockHeader{
		rawLen:     uint32(len(raw)),
		records:    records,
		payloadLen: uint32(len(payload)),
		payloadCRC: crc32.Checksum(payload, castagnoli),
		minTs:      minTs,
		maxTs:      maxTs,
	}
	h.put(dst[hdrAt:payloadAt])
	return dst
}

// decoder decompresses block payloads for verification.
type decoder struct {
	zdec *zstd.Decoder
}

func newDecoder() (*decoder, error) {
	z, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxBlockRaw+1))
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &decoder{zdec: z}, nil
}

func (d *decoder) close() { d.zdec.Close() }

// decode decompresses one payload and checks it against its header: exact
// raw length, line count, and a final newline.
func (d *decoder) decode(c *codec, h blockHeader, payload, dst []byte) ([]byte, error) {
	var out []byte
	if c == zstdCodec {
		var err error
		out, err = d.zdec.DecodeAll(payload, dst[:0])
		if err != nil {
			return dst, badf("zstd frame: %v", err)
		}
	} else {
		if len(payload) < 8 {
			return dst, badf("gzip member too short")
		}
		body, trailer := payload[:len(payload)-8], payload[len(payload)-8:]
		fr := flate.NewReader(bytes.NewReader(body))
		buf := bytes.NewBuffer(dst[:0])
		_, err := io.Copy(buf, io.LimitReader(fr, int64(h.rawLen)+1))
		_ = fr.Close()
		out = buf.Bytes()
		if err != nil {
			return out, badf("deflate data: %v", err)
		}
		if crc32.ChecksumIEEE(out) != binary.LittleEndian.Uint32(trailer) ||
			uint32(len(out)) != binary.LittleEndian.Uint32(trailer[4:]) {
			return out, badf("gzip trailer mismatch")
		}
	}
	if len(out) != int(h.rawLen) {
		return out, badf("block decompressed to %d bytes, header says %d", len(out), h.rawLen)
	}
	if n := bytes.Count(out, []byte{'\n'}); n != int(h.records) || out[len(out)-1] != '\n' {
		return out, badf("block holds %d lines, header says %d", n, h.records)
	}
	return out, nil
}

// blockInfo locates one valid block in a file.
type blockInfo struct {
	off  int64
	size int64 // prefix + header + payload
	h    blockHeader
}

// scanResult describes a segment or batch file block by block.
type scanResult struct {
	blocks  []blockInfo // every valid block, in file order
	badAt   int64       // offset of the first invalid byte, -1 if none
	badWhy  error
	sha     [sha256.Size]byte // of the concatenation of the valid blocks
	records int64
	raw     int64
	valid   int64 // bytes in valid blocks
	minTs   int64
	maxTs   int64
	// decodeErr is the first decompression problem (only with decode).
	decodeErr error
}

// torn reports whether the first problem is a torn tail: nothing valid
// follows it, as after a crash in the middle of a write.
func (r *scanResult) torn() bool {
	if r.badAt < 0 {
		return false
	}
	n := len(r.blocks)
	return n == 0 || r.blocks[n-1].off < r.badAt
}

type scanOpts struct {
	decode  *decoder // decompress and check every block's content
	onBlock func(raw []byte) error
}

// scanFile walks a file of blocks, checking every header and payload CRC,
// skipping over damage to find later valid blocks. Only I/O errors are
// returned; format problems are described in the result.
func scanFile(r io.ReaderAt, size int64, c *codec, o scanOpts) (*scanResult, error) {
	res := &scanResult{badAt: -1}
	sum := sha256.New()
	hdr := make([]byte, len(c.prefix)+hdrLen)
	var payload, raw []byte
	off := int64(0)
	for off < size {
		bi, err := readBlock(r, off, size, c, hdr, &payload, sum)
		if err == nil && o.decode != nil {
			raw, err = o.decode.decode(c, bi.h, payload, raw)
			if err != nil && res.decodeErr == nil {
				res.decodeErr = fmt.Errorf("block at offset %d: %w", off, err)
			}
			if err == nil && o.onBlock != nil {
				if err := o.onBlock(raw); err != nil {
					return res, err
				}
			}
			err = nil // a CRC-valid block that fails to decode is still counted
		}
		if err == nil {
			res.blocks = append(res.blocks, bi)
			if res.records == 0 || bi.h.minTs < res.minTs {
				res.minTs = bi.h.minTs
			}
			if res.records == 0 || bi.h.maxTs > res.maxTs {
				res.maxTs = bi.h.maxTs
			}
			res.records += int64(bi.h.records)
			res.raw += int64(bi.h.rawLen)
			res.valid += bi.size
			off += bi.size
			continue
		}
		if !isFormatError(err) {
			return res, err
		}
		if res.badAt < 0 {
			res.badAt, res.badWhy = off, err
		}
		next, err := findPrefix(r, off+1, size, c.prefix)
		if err != nil {
			return res, err
		}
		if next < 0 {
			break
		}
		off = next
	}
	copy(res.sha[:], sum.Sum(nil))
	return res, nil
}

// readBlock reads and checks the block at off. The payload is read into
// *payload only when needed (hashing or decoding callers pass sum != nil).
func readBlock(r io.ReaderAt, off, size int64, c *codec, hdr []byte, payload *[]byte, sum hash.Hash) (blockInfo, error) {
	bi := blockInfo{off: off}
	if size-off < int64(len(hdr)) {
		n := size - off
		if _, err := r.ReadAt(hdr[:n], off); err != nil && err != io.EOF {
			return bi, err
		}
		return bi, badf("incomplete block header at offset %d", off)
	}
	if _, err := r.ReadAt(hdr, off); err != nil && err != io.EOF {
		return bi, err
	}
	if !bytes.Equal(hdr[:len(c.prefix)], c.prefix) {
		return bi, badf("no block at offset %d", off)
	}
	h, err := parseHeader(hdr[len(c.prefix):])
	if err != nil {
		return bi, err
	}
	bi.h = h
	bi.size = int64(len(hdr)) + int64(h.payloadLen)
	if size-off < bi.size {
		return bi, badf("incomplete block at offset %d", off)
	}
	if cap(*payload) < int(h.payloadLen) {
		*payload = make([]byte, h.payloadLen)
	}
	p := (*payload)[:h.payloadLen]
	*payload = p
	if _, err := r.ReadAt(p, off+int64(len(hdr))); err != nil && err != io.EOF {
		return bi, err
	}
	if crc32.Checksum(p, castagnoli) != h.payloadCRC {
		return bi, badf("block payload checksum mismatch at offset %d", off)
	}
	if sum != nil {
		sum.Write(hdr)
		sum.Write(p)
	}
	return bi, nil
}

// findPrefix returns the offset of the next occurrence of prefix at or after
// from, or -1.
func findPrefix(r io.ReaderAt, from, size int64, prefix []byte) (int64, error) {
	const window = 64 << 10
	buf := make([]byte, window+len(prefix))
	for off := from; off < size; off += window {
		n := min(int64(len(buf)), size-off)
		if _, err := r.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return -1, err
		}
		if i := bytes.Index(buf[:n], prefix); i >= 0 {
			return off + int64(i), nil
		}
	}
	return -1, nil
}

// headerWalk lists blocks by their headers alone, without reading payloads,
// stopping at the first invalid one. Used for cheap listings.
func headerWalk(r io.ReaderAt, size int64, c *codec) (*scanResult, error) {
	res := &scanResult{badAt: -1}
	hdr := make([]byte, len(c.prefix)+hdrLen)
	for off := int64(0); off < size; {
		if size-off < int64(len(hdr)) {
			res.badAt, res.badWhy = off, badf("incomplete block header at offset %d", off)
			break
		}
		if _, err := r.ReadAt(hdr, off); err != nil && err != io.EOF {
			return res, err
		}
		if !bytes.Equal(hdr[:len(c.prefix)], c.prefix) {
			res.badAt, res.badWhy = off, badf("no block at offset %d", off)
			break
		}
		h, err := parseHeader(hdr[len(c.prefix):])
		if err != nil {
			res.badAt, res.badWhy = off, err
			break
		}
		bs := int64(len(hdr)) + int64(h.payloadLen)
		if size-off < bs {
			res.badAt, res.badWhy = off, badf("incomplete block at offset %d", off)
			break
		}
		if res.records == 0 || h.minTs < res.minTs {
			res.minTs = h.minTs
		}
		if res.records == 0 || h.maxTs > res.maxTs {
			res.maxTs = h.maxTs
		}
		res.blocks = append(res.blocks, blockInfo{off: off, size: bs, h: h})
		res.records += int64(h.records)
		res.raw += int64(h.rawLen)
		res.valid += bs
		off += bs
	}
	return res, nil
}
