// Package file is the file:// sink: it writes each batch into a folder (a
// local disk or a mounted share), for air-gapped sites and for tests.
//
// URL forms:
//
//	file:///abs/path     an absolute folder
//	file://./rel/path    a folder relative to the process working directory
//	                     at start-up (resolved once, when the sink is built)
//
// A batch with key K is written to <folder>/K and its manifest to
// <folder>/K.manifest.json, each by temp file, fsync, rename and directory
// fsync, batch first: a manifest therefore announces a complete batch.
// Writing the same key again replaces both files (idempotent).
//
// A body the queue has just checked against the same SHA-256
// (uploader.VerifiedFile, as the spool's are) is copied by the kernel
// (copy_file_range: no copy through user space, and on file systems with
// reflinks no data copy at all) and not hashed again. Hard links would be
// cheaper still, but the folder's copy would share the spool's file: a
// consumer editing it in place would change a batch still owed to other
// targets, and setting its permissions would change the spool's.
package file

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloudscout/cloudscout/internal/fsutil"
	"github.com/cloudscout/cloudscout/uploader"
)

func init() {
	uploader.RegisterSink("file", func(u *url.URL, o uploader.SinkOptions) (uploader.Sink, error) {
		return New(u, o)
	})
}

// Sink writes batches below Dir.
type Sink struct {
	dir string
}

var _ uploader.Sink = (*Sink)(nil)

// New builds a file sink from a file:// URL. The folder is created on the
// first write, so a share mounted later still works.
func New(u *url.URL, _ uploader.SinkOptions) (*Sink, error) {
	if u.Scheme != "file" {
		return nil, fmt.Errorf("file sink: scheme %q", u.Scheme)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("file sink: the URL takes no user, query or fragment")
	}
	var p string
	switch u.Host {
	case "", "localhost":
		p = u.Path
	case ".", "..":
		p = u.Host + u.Path
	default:
		return nil, fmt.Errorf("file sink: host %q: use file:///abs/path or file://./relative/path", u.Host)
	}
	if p == "" {
		return nil, errors.New("file sink: no folder in the URL")
	}
	abs, err := filepath.Abs(filepath.FromSlash(p))
	if err != nil {
		return nil, fmt.Errorf("file sink: %w", err)
	}
	return &Sink{dir: abs}, nil
}

// Dir is the absolute folder the sink writes to.
func (s *Sink) Dir() string { return s.dir }

func (s *Sink) String() string { return "file://" + filepath.ToSlash(s.dir) }

// Put writes the batch and then its manifest. A body whose size or SHA-256
// differs from what the caller declared is refused for good: the spool copy
// is damaged, and the dead-letter folder keeps it for inspection. (A body
// that its queue verified against the declared SHA-256 and size is not
// hashed again; see the package comment.)
func (s *Sink) Put(ctx context.Context, key string, body io.Reader, size int64, m uploader.Manifest) error {
	if err := uploader.ValidKey(key); err != nil {
		return uploader.Permanent(err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dst := filepath.Join(s.dir, filepath.FromSlash(key))
	if !strings.HasPrefix(dst, s.dir+string(filepath.Separator)) {
		return uploader.Permanent(fmt.Errorf("key %q escapes the folder", key))
	}
	if f, ok := verified(body, size, m); ok {
		if err := copyFile(ctx, key, dst, f, size); err != nil {
			return err
		}
		return writeManifest(dst, m)
	}
	check := func(r fsutil.Result) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.Size != size {
			return fmt.Errorf("batch %s: read %d bytes, expected %d", key, r.Size, size)
		}
		if m.SHA256 != "" && !strings.EqualFold(m.SHA256, hex.EncodeToString(r.SHA256)) {
			return uploader.Permanent(fmt.Errorf("batch %s: content does not match the manifest sha256", key))
		}
		return nil
	}
	if _, err := fsutil.WriteFile(dst, &ctxReader{ctx: ctx, r: body}, 0o644, check); err != nil {
		return err
	}
	return writeManifest(dst, m)
}

func writeManifest(dst string, m uploader.Manifest) error {
	mdata, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if _, err := fsutil.WriteFile(dst+".manifest.json", bytes.NewReader(mdata), 0o644, nil); err != nil {
		return err
	}
	return nil
}

// verified returns the file under body when its queue checked it against
// exactly the size and SHA-256 declared for this batch.
func verified(body io.Reader, size int64, m uploader.Manifest) (*os.File, bool) {
	vf, ok := body.(uploader.VerifiedFile)
	if !ok || m.SHA256 == "" {
		return nil, false
	}
	f, sum, n := vf.VerifiedFile()
	if f == nil || n != size || !strings.EqualFold(sum, m.SHA256) {
		return nil, false
	}
	return f, true
}

// copyChunk is how much one copy_file_range round copies between checks
// for cancellation.
const copyChunk = 8 << 20

// copyFile stores the verified file src (read from its current offset, the
// start) for key at dst atomically (fsutil.Fill) with a kernel copy. The
// copy must come to exactly size bytes.
func copyFile(ctx context.Context, key, dst string, src *os.File, size int64) error {
	return fsutil.Fill(dst, 0o644, func(tmp *os.File) error {
		var n int64
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			// io.CopyN hands (*os.File).ReadFrom a LimitedReader over the
			// *os.File, which it copies with copy_file_range (falling back
			// to a plain copy where the kernel cannot).
			c, err := io.CopyN(tmp, src, copyChunk)
			n += c
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", dst, err)
			}
			if n > size {
				break
			}
		}
		if n != size {
			return fmt.Errorf("batch %s: read %d bytes, expected %d", key, n, size)
		}
		return nil
	})
}

// ctxReader stops a long copy when the upload is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
