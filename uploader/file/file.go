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
// is damaged, and the dead-letter folder keeps it for inspection.
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
	mdata, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if _, err := fsutil.WriteFile(dst+".manifest.json", bytes.NewReader(mdata), 0o644, nil); err != nil {
		return err
	}
	return nil
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
