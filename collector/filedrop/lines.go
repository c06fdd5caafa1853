package filedrop

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const (
	readBufferSize = 64 << 10
	// maxZipMembers bounds the members of one zip archive.
	maxZipMembers = 10000
	// zstdMaxWindow bounds the decoder's memory; zstd levels up to 19 use at most 8 MiB.
	zstdMaxWindow = 32 << 20
)

type fileKind int

const (
	kindPlain fileKind = iota
	kindGzip
	kindZstd
	kindZip
)

func (k fileKind) compressed() bool { return k != kindPlain }

var (
	magicGzip = []byte{0x1f, 0x8b}
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicZip  = []byte("PK\x03\x04")
	magicZip0 = []byte("PK\x05\x06") // empty archive
	magicBz2  = []byte("BZh")
	magicXz   = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
)

// quarantineError marks a file that can never be read as logs; the file goes
// to quarantine with this reason.
type quarantineError struct {
	reason string
	err    error
}

func (e *quarantineError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *quarantineError) Unwrap() error { return e.err }

func quarantine(reason string, format string, args ...any) error {
	return &quarantineError{reason: reason, err: fmt.Errorf(format, args...)}
}

// sniff picks the reader by content, not by name: devices name files freely.
func sniff(head []byte) (fileKind, error) {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return kindGzip, nil
	case bytes.HasPrefix(head, magicZstd):
		return kindZstd, nil
	case bytes.HasPrefix(head, magicZip), bytes.HasPrefix(head, magicZip0):
		return kindZip, nil
	case bytes.HasPrefix(head, magicBz2), bytes.HasPrefix(head, magicXz):
		return 0, quarantine(reasonUnsupported, "bzip2/xz compression is not supported")
	}
	return kindPlain, nil
}

// nestedCheck refuses a decompressed stream that is itself compressed.
func nestedCheck(head []byte) error {
	for _, m := range [][]byte{magicGzip, magicZstd, magicZip, magicZip0, magicBz2, magicXz} {
		if bytes.HasPrefix(head, m) {
			return quarantine(reasonNested, "compressed data inside a compressed file")
		}
	}
	return nil
}

// capCounter counts decompressed bytes across all members of a file and
// fails, explicitly rather than with a silent EOF, past the cap.
type capCounter struct {
	n, max int64
}

type cappedReader struct {
	r io.Reader
	c *capCounter
}

func (r *cappedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.c.n += int64(n)
	if r.c.n > r.c.max {
		return n, quarantine(reasonBomb, "expands past %d bytes", r.c.max)
	}
	return n, err
}

// member is one decompressed stream: the whole file, or one zip member.
type member struct {
	name string
	r    io.Reader
}

// openMembers calls fn for each decompressed stream of f in order, with the
// decompressed size capped at maxExpanded (for compressed files).
func openMembers(f *os.File, size int64, kind fileKind, maxExpanded int64, fn func(member) error) error {
	cc := &capCounter{max: maxExpanded}
	if !kind.compressed() {
		cc.max = 1<<63 - 1
	}
	decompErr := func(err error) error {
		var qe *quarantineError
		if errors.As(err, &qe) {
			return err
		}
		return &quarantineError{reason: reasonCorrupt, err: err}
	}
	run := func(name string, r io.Reader, check bool) error {
		br := bufio.NewReaderSize(&cappedReader{r: r, c: cc}, readBufferSize)
		if check {
			head, err := br.Peek(8)
			if err != nil && !errors.Is(err, io.EOF) {
				return decompErr(err)
			}
			if err := nestedCheck(head); err != nil {
				return err
			}
		}
		return fn(member{name: name, r: &decompReader{r: br, compressed: check}})
	}
	sr := io.NewSectionReader(f, 0, size)
	switch kind {
	case kindPlain:
		return run("", sr, false)
	case kindGzip:
		zr, err := gzip.NewReader(bufio.NewReaderSize(sr, readBufferSize))
		if err != nil {
			return decompErr(err)
		}
		defer zr.Close()
		return run("", zr, true)
	case kindZstd:
		zr, err := zstd.NewReader(bufio.NewReaderSize(sr, readBufferSize),
			zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return decompErr(err)
		}
		defer zr.Close()
		return run("", zr, true)
	case kindZip:
		count, err := zipEntryCount(f, size)
		if err != nil {
			return decompErr(err)
		}
		if count > maxZipMembers {
			return quarantine(reasonZipEntries, "%d zip members (max %d)", count, maxZipMembers)
		}
		zr, err := zip.NewReader(f, size)
		if err != nil {
			return decompErr(err)
		}
		if len(zr.File) > maxZipMembers {
			return quarantine(reasonZipEntries, "%d zip members (max %d)", len(zr.File), maxZipMembers)
		}
		for _, zf := range zr.File {
			if zf.FileInfo().IsDir() || !zf.Mode().IsRegular() {
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				return decompErr(err)
			}
			err = run(zf.Name, rc, true)
			_ = rc.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown file kind %d", kind)
}

// decompReader marks errors from a decompressor as corruption (quarantine);
// errors from a plain file stay ordinary I/O errors (retried).
type decompReader struct {
	r          io.Reader
	compressed bool
}

func (d *decompReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && d.compressed {
		var qe *quarantineError
		if !errors.As(err, &qe) {
			err = &quarantineError{reason: reasonCorrupt, err: err}
		}
	}
	return n, err
}

// zipEntryCount reads the entry count from the end-of-central-directory
// record (zip64 aware) before archive/zip allocates a struct per entry.
func zipEntryCount(f io.ReaderAt, size int64) (uint64, error) {
	const eocdLen = 22
	n := min(size, eocdLen+65535)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	i := bytes.LastIndex(buf, magicZip0)
	if i < 0 || len(buf)-i < eocdLen {
		return 0, errors.New("zip: end of central directory not found")
	}
	count := uint64(binary.LittleEndian.Uint16(buf[i+10:]))
	if count != 0xffff || i < 20 || !bytes.Equal(buf[i-20:i-16], []byte("PK\x06\x07")) {
		return count, nil
	}
	off := int64(binary.LittleEndian.Uint64(buf[i-20+8:]))
	rec := make([]byte, 56)
	if off < 0 || off > size-56 {
		return 0, errors.New("zip64: bad end of central directory offset")
	}
	if _, err := f.ReadAt(rec, off); err != nil {
		return 0, err
	}
	if !bytes.Equal(rec[:4], []byte("PK\x06\x06")) {
		return 0, errors.New("zip64: end of central directory record not found")
	}
	return binary.LittleEndian.Uint64(rec[32:]), nil
}

// lineReader splits a stream into lines, bounding memory: a line longer than
// max is cut to max bytes (the rest skipped) and reported as truncated.
type lineReader struct {
	br   *bufio.Reader
	max  int
	buf  []byte
	off  int64
	done bool
}

func newLineReader(r io.Reader, base int64, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, readBufferSize), max: max, off: base}
}

// next returns the next line without its LF (and CR), the offsets of its first
// byte and just past its terminator, and whether it was truncated. A last line
// without LF is a line. It returns io.EOF after the last line.
func (lr *lineReader) next() (line []byte, start, end int64, truncated bool, err error) {
	if lr.done {
		return nil, 0, 0, false, io.EOF
	}
	lr.buf = lr.buf[:0]
	start = lr.off
	for {
		chunk, rerr := lr.br.ReadSlice('\n')
		lr.off += int64(len(chunk))
		content := chunk
		complete := rerr == nil
		if complete {
			content = chunk[:len(chunk)-1]
		}
		if room := lr.max - len(lr.buf); len(content) > room {
			lr.buf = append(lr.buf, content[:max(room, 0)]...)
			truncated = true
		} else {
			lr.buf = append(lr.buf, content...)
		}
		switch {
		case complete:
		case errors.Is(rerr, bufio.ErrBufferFull):
			continue
		case errors.Is(rerr, io.EOF):
			lr.done = true
			if lr.off == start {
				return nil, 0, 0, false, io.EOF
			}
		default:
			return nil, 0, 0, false, rerr
		}
		line = lr.buf
		if !truncated && len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		return line, start, lr.off, truncated, nil
	}
}
