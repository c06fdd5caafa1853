package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Directory layout under Config.Dir. State lives in file names only.
const (
	openDirName  = "open"       // <seq>-<source><ext>.open: segments being written
	batchDirName = "batches"    // <seq>-<source><ext> and <...>.json: sealed batches + manifests
	quarDirName  = "quarantine" // anything unreadable, never deleted by the spool

	openSuffix     = ".open"
	manifestSuffix = ".json"
	tmpSuffix      = ".tmp"
)

const maxNameLen = 100

// validName reports whether s is safe as a file-name and key segment:
// ASCII letters, digits, '.', '_' and '-', starting with a letter or digit.
func validName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

type fileKind int

const (
	kindOpen fileKind = iota + 1
	kindBatch
	kindManifest
)

// fileName is a parsed spool file name.
type fileName struct {
	seq    uint64
	source string
	codec  *codec
	kind   fileKind
}

// base is the batch file name the segment has or will have.
func (n fileName) base() string {
	return fmt.Sprintf("%012d-%s%s", n.seq, n.source, n.codec.ext)
}

func (n fileName) openName() string     { return n.base() + openSuffix }
func (n fileName) manifestName() string { return n.base() + manifestSuffix }

func parseFileName(name string) (fileName, bool) {
	var n fileName
	switch {
	case strings.HasSuffix(name, openSuffix):
		n.kind, name = kindOpen, strings.TrimSuffix(name, openSuffix)
	case strings.HasSuffix(name, manifestSuffix):
		n.kind, name = kindManifest, strings.TrimSuffix(name, manifestSuffix)
	default:
		n.kind = kindBatch
	}
	for _, c := range codecs {
		if strings.HasSuffix(name, c.ext) {
			n.codec, name = c, strings.TrimSuffix(name, c.ext)
			break
		}
	}
	if n.codec == nil {
		return n, false
	}
	seq, ok := leadingSeq(name)
	if !ok {
		return n, false
	}
	i := strings.IndexByte(name, '-')
	n.seq, n.source = seq, name[i+1:]
	if !validName(n.source) || len(name[:i]) < 12 {
		return n, false
	}
	return n, true
}

// leadingSeq parses the "<digits>-" prefix any spool file name starts with,
// including quarantined ones.
func leadingSeq(name string) (uint64, bool) {
	i := strings.IndexByte(name, '-')
	if i <= 0 {
		return 0, false
	}
	seq, err := strconv.ParseUint(name[:i], 10, 64)
	return seq, err == nil
}

// writeFileAtomic writes data to dir/name through a synced temp file and a
// rename. The caller syncs dir (so several renames share one dir fsync).
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, name+".*"+tmpSuffix)
	if err != nil {
		return fmt.Errorf("create temp: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp) // best effort: stale temps are also removed on open
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// uniquePath returns dir/name, or dir/name.N for the first N not taken.
func uniquePath(dir, name string) string {
	p := filepath.Join(dir, name)
	for i := 1; ; i++ {
		if _, err := os.Lstat(p); err != nil {
			return p // free, or unknowable: the rename reports the real problem
		}
		p = filepath.Join(dir, fmt.Sprintf("%s.%d", name, i))
	}
}
