package uploader

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// maxBurst bounds one limiter grant: reads are cut to this size so a slow
// limit still moves data smoothly rather than in big bursts.
const maxBurst = 256 << 10

// NewLimiter returns a token bucket for bytesPerSec with a burst of about
// one second's worth (between 1 byte and 256 KiB).
func NewLimiter(bytesPerSec int64) *rate.Limiter {
	burst := int(min(max(bytesPerSec, 1), maxBurst))
	return rate.NewLimiter(rate.Limit(bytesPerSec), burst)
}

// LimitReader throttles r with lim; reads wait for tokens and stop when ctx
// ends. When r can also seek and read at offsets (a batch file), so can the
// result, which lets sinks rewind or read parts without buffering. A nil
// lim returns r unchanged.
func LimitReader(ctx context.Context, r io.Reader, lim *rate.Limiter) io.Reader {
	if lim == nil {
		return r
	}
	l := limitedReader{ctx: ctx, r: r, lim: lim}
	if f, ok := r.(interface {
		io.Seeker
		io.ReaderAt
	}); ok {
		return &limitedFile{limitedReader: l, f: f}
	}
	return &l
}

// Unlimited returns the reader under a LimitReader wrapper (or r itself).
// Sinks use it for local work, such as hashing a part before sending it,
// that must not spend the target's bandwidth budget.
func Unlimited(r io.Reader) io.Reader {
	switch l := r.(type) {
	case *limitedReader:
		return l.r
	case *limitedFile:
		return l.r
	}
	return r
}

type limitedReader struct {
	ctx context.Context
	r   io.Reader
	lim *rate.Limiter
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if b := l.lim.Burst(); len(p) > b {
		p = p[:b]
	}
	n, err := l.r.Read(p)
	if n > 0 {
		if werr := l.lim.WaitN(l.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}

type limitedFile struct {
	limitedReader
	f interface {
		io.Seeker
		io.ReaderAt
	}
}

func (l *limitedFile) Seek(off int64, whence int) (int64, error) { return l.f.Seek(off, whence) }

func (l *limitedFile) ReadAt(p []byte, off int64) (int, error) {
	// ReadAt must fill p or fail, so read in burst-sized steps.
	total := 0
	for total < len(p) {
		chunk := p[total:min(len(p), total+l.lim.Burst())]
		n, err := l.f.ReadAt(chunk, off+int64(total))
		total += n
		if n > 0 {
			if werr := l.lim.WaitN(l.ctx, n); werr != nil {
				return total, werr
			}
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
