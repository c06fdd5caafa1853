package syslog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

const (
	// maxFrameLen is the largest MSG-LEN accepted as an octet count. Larger counts are
	// taken as garbage rather than as a request to read through gigabytes.
	maxFrameLen = 16 << 20
	// maxLenDigits is the number of digits in maxFrameLen; a longer digit run cannot be
	// a valid MSG-LEN.
	maxLenDigits = 8
)

// Framing error reasons (label values of framing_errors_total).
const (
	reasonBadMsgLen   = "bad_msg_len"       // digits not followed by SP, or a leading zero
	reasonMsgLenLarge = "msg_len_too_large" // more than 8 digits, or a count above 16 MiB
	reasonShortFrame  = "short_frame"       // the stream ended inside an octet-counted frame
)

// framer splits a syslog byte stream into messages. The framing is detected for every
// message: a message starting with "MSG-LEN SP" (RFC 6587 octet counting, RFC 5425) is
// read by count, anything else is non-transparent framing ending at LF or NUL.
//
// Policy for a malformed MSG-LEN (documented in the package doc): it is a framing error,
// counted, and the bytes already read plus the rest up to the next LF or NUL become one
// LF-framed message. The connection stays open. A malformed count is only counted as an
// error while the connection is not known to use LF framing: after a non-empty LF-framed
// message, a line that merely starts with digits (a timestamp, say) is plain data.
//
// Memory: buf never grows beyond max+2 bytes; longer messages are delivered truncated and
// their remainder is read through and discarded.
type framer struct {
	r   *bufio.Reader
	max int
	buf []byte

	lfMode   bool // the last non-empty message was LF-framed
	discard  int  // bytes of a truncated octet frame still to read through
	skipLine bool // an overlong LF line was delivered truncated; skip to its terminator
	err      error

	onError    func(reason string) // a framing error
	onFrameEnd func()              // a frame (message, empty message or discarded tail) ended
	// refill, when set, may replace the (empty) reader before it is filled
	// again: a busy connection moves to a larger buffer.
	refill func(*bufio.Reader) *bufio.Reader
}

// beforeFill is called when the reader holds no data and is about to read.
func (f *framer) beforeFill() {
	if f.refill != nil && f.r.Buffered() == 0 {
		f.r = f.refill(f.r)
	}
}

func newFramer(r *bufio.Reader, maxSize int) *framer {
	return &framer{r: r, max: maxSize}
}

// next returns the next non-empty message. The returned slice is valid until the next
// call. truncated is set when the message was longer than max (only the first max bytes
// are returned) or when the stream ended inside an octet-counted frame. A message cut off
// by a read error is returned first; the error comes with the following call.
func (f *framer) next() (msg []byte, truncated bool, err error) {
	for {
		if f.err != nil {
			return nil, false, f.err
		}
		if f.discard > 0 {
			n, err := f.r.Discard(f.discard)
			f.discard -= n
			if err != nil {
				f.fail(reasonShortFrame)
				f.err = err
				continue
			}
			f.frameEnd()
		}
		if f.skipLine {
			if err := f.skipToTerminator(); err != nil {
				f.err = err
				continue
			}
			f.skipLine = false
			f.frameEnd()
		}
		msg, truncated, err := f.readFrame()
		if err != nil {
			f.err = err
		}
		if len(msg) > 0 {
			return msg, truncated, nil
		}
	}
}

func (f *framer) fail(reason string) {
	if f.onError != nil {
		f.onError(reason)
	}
}

func (f *framer) frameEnd() {
	if f.onFrameEnd != nil {
		f.onFrameEnd()
	}
}

// readFrame reads one frame. It may return an empty message (ignored by next).
func (f *framer) readFrame() ([]byte, bool, error) {
	f.buf = f.buf[:0]
	if msg, ok := f.bufferedLine(); ok {
		return msg, false, nil
	}
	f.beforeFill()
	b, err := f.r.ReadByte()
	if err != nil {
		return nil, false, err
	}
	if b >= '0' && b <= '9' {
		return f.readHeader(b)
	}
	if b == '\n' || b == 0 {
		f.frameEnd()
		return nil, false, nil
	}
	f.buf = append(f.buf, b)
	return f.readLine()
}

// readHeader scans a digit run that may be a MSG-LEN; first is its first digit.
func (f *framer) readHeader(first byte) ([]byte, bool, error) {
	f.buf = append(f.buf, first)
	n := int(first - '0')
	for {
		c, err := f.r.ReadByte()
		if err != nil {
			// Digits then end of stream: an unterminated LF-framed message.
			return f.lineDone(false), false, err
		}
		switch {
		case c >= '0' && c <= '9':
			f.buf = append(f.buf, c)
			n = n*10 + int(c-'0')
			if len(f.buf) > maxLenDigits {
				f.badHeader(reasonMsgLenLarge)
				return f.readLine()
			}
		case c == ' ':
			if first == '0' {
				f.badHeader(reasonBadMsgLen)
			} else if n > maxFrameLen {
				f.badHeader(reasonMsgLenLarge)
			} else {
				f.lfMode = false
				return f.readOctets(n)
			}
			f.buf = append(f.buf, c)
			return f.readLine()
		case c == '\n' || c == 0:
			f.badHeader(reasonBadMsgLen)
			f.frameEnd()
			return f.lineDone(true), false, nil
		default:
			f.badHeader(reasonBadMsgLen)
			f.buf = append(f.buf, c)
			return f.readLine()
		}
	}
}

// badHeader counts a malformed MSG-LEN unless the stream is known to be LF-framed.
func (f *framer) badHeader(reason string) {
	if !f.lfMode {
		f.fail(reason)
	}
}

// bufferedLine is the fast path for the common case: a whole LF/NUL-framed
// line of at most max bytes already in the read buffer. It returns the line
// in place, without copying (valid until the next read, as next promises).
func (f *framer) bufferedLine() ([]byte, bool) {
	n := f.r.Buffered()
	if n < 2 {
		return nil, false
	}
	chunk, _ := f.r.Peek(n) // buffered bytes: cannot fail
	if b := chunk[0]; (b >= '0' && b <= '9') || b == '\n' || b == 0 {
		return nil, false // maybe a MSG-LEN, or an empty frame: the full path decides
	}
	end := indexTerminator(chunk)
	if end < 0 || end > f.max {
		return nil, false
	}
	_, _ = f.r.Discard(end + 1) // the slice stays valid until the next read
	f.frameEnd()
	msg := chunk[:end]
	if msg[len(msg)-1] == '\r' {
		msg = msg[:len(msg)-1]
	}
	if len(msg) > 0 {
		f.lfMode = true
	}
	return msg, true
}

// readOctets reads the body of an octet-counted frame of n bytes.
func (f *framer) readOctets(n int) ([]byte, bool, error) {
	if n <= f.max+2 {
		var msg []byte
		if f.r.Buffered() >= n {
			// The whole frame is buffered: deliver it in place.
			msg, _ = f.r.Peek(n)
			_, _ = f.r.Discard(n)
		} else {
			f.grow(n)
			// What is buffered first, so the reader is empty when it refills.
			have, _ := f.r.Read(f.buf[:min(n, f.r.Buffered())])
			f.beforeFill()
			got, err := io.ReadFull(f.r, f.buf[have:n])
			if err != nil {
				return f.shortFrame(have+got, err)
			}
			msg = f.buf[:n]
		}
		f.frameEnd()
		// rsyslog puts the template's newline inside the frame.
		if len(msg) > 0 && msg[len(msg)-1] == '\n' {
			msg = msg[:len(msg)-1]
			if len(msg) > 0 && msg[len(msg)-1] == '\r' {
				msg = msg[:len(msg)-1]
			}
		}
		if len(msg) > f.max {
			return msg[:f.max], true, nil
		}
		return msg, false, nil
	}
	f.grow(f.max)
	got, err := io.ReadFull(f.r, f.buf[:f.max])
	if err != nil {
		return f.shortFrame(got, err)
	}
	f.discard = n - f.max
	return f.buf[:f.max], true, nil
}

// shortFrame handles a stream that ended inside an octet frame: what arrived is
// delivered, marked truncated.
func (f *framer) shortFrame(got int, err error) ([]byte, bool, error) {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	f.fail(reasonShortFrame)
	if got > f.max {
		got = f.max
	}
	return f.buf[:got], true, err
}

// grow makes cap(f.buf) at least n (n <= max+2).
func (f *framer) grow(n int) {
	if cap(f.buf) >= n {
		f.buf = f.buf[:n]
		return
	}
	c := 2 * cap(f.buf)
	if c < n {
		c = n
	}
	if c > f.max+2 {
		c = f.max + 2
	}
	nb := make([]byte, n, c)
	copy(nb, f.buf)
	f.buf = nb
}

// peekSome returns the buffered bytes, filling the buffer with one read if it is empty.
func (f *framer) peekSome() ([]byte, error) {
	if f.r.Buffered() == 0 {
		f.beforeFill()
		if _, err := f.r.Peek(1); err != nil {
			return nil, err
		}
	}
	return f.r.Peek(f.r.Buffered())
}

// indexTerminator returns the index of the first LF or NUL in b, or -1.
func indexTerminator(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	limit := b
	if i >= 0 {
		limit = b[:i]
	}
	if j := bytes.IndexByte(limit, 0); j >= 0 {
		return j
	}
	return i
}

// readLine reads the rest of an LF/NUL-terminated message whose start is in f.buf.
func (f *framer) readLine() ([]byte, bool, error) {
	// Up to max+2 bytes are kept: a line of max+1 bytes may still end in a CR that is
	// stripped, so only max+2 proves that the message is too long.
	limit := f.max + 2
	for {
		chunk, err := f.peekSome()
		if err != nil {
			msg := f.lineDone(false)
			if len(msg) > f.max {
				return msg[:f.max], true, err
			}
			return msg, false, err
		}
		end := indexTerminator(chunk)
		found := end >= 0
		if !found {
			end = len(chunk)
		}
		room := max(limit-len(f.buf), 0)
		take := min(end, room)
		f.buf = append(f.buf, chunk[:take]...)
		if found && take == end {
			_, _ = f.r.Discard(end + 1) // buffered bytes: cannot fail
			f.frameEnd()
			msg := f.lineDone(true)
			if len(msg) > f.max {
				return msg[:f.max], true, nil
			}
			return msg, false, nil
		}
		_, _ = f.r.Discard(take)
		if len(f.buf) >= limit {
			f.lfMode = true
			f.skipLine = true
			return f.buf[:f.max], true, nil
		}
	}
}

// lineDone finishes an LF-framed message in f.buf: a trailing CR is stripped and a
// non-empty message marks the stream as LF-framed.
func (f *framer) lineDone(terminated bool) []byte {
	msg := f.buf
	if terminated && len(msg) > 0 && msg[len(msg)-1] == '\r' {
		msg = msg[:len(msg)-1]
	}
	if len(msg) > 0 {
		f.lfMode = true
	}
	return msg
}

// skipToTerminator discards input up to and including the next LF or NUL.
func (f *framer) skipToTerminator() error {
	for {
		chunk, err := f.peekSome()
		if err != nil {
			return err
		}
		if i := indexTerminator(chunk); i >= 0 {
			_, _ = f.r.Discard(i + 1)
			return nil
		}
		_, _ = f.r.Discard(len(chunk))
	}
}
