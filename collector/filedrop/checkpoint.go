package filedrop

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cloudscout/cloudscout/internal/fsutil"
)

// fingerprintLen is how much of a file's head identifies it together with its
// device and inode: an inode number reused by a new file does not match.
const fingerprintLen = 4096

// fileID identifies a file across renames and restarts.
type fileID struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	FP    string `json:"fp"`     // hex SHA-256 of the first FPLen bytes
	FPLen int64  `json:"fp_len"` // min(size, fingerprintLen) when first seen
}

func (id fileID) String() string {
	return fmt.Sprintf("%d:%d:%s", id.Dev, id.Ino, id.FP[:min(12, len(id.FP))])
}

// entry is a file's progress: lines before Offset (decompressed) are
// committed to the sink; Done means the whole file is.
type entry struct {
	fileID
	Offset int64  `json:"offset"`
	Done   bool   `json:"done,omitempty"`
	Name   string `json:"name"` // last known name, for people reading the file
}

type checkpointFile struct {
	Version int     `json:"version"`
	Dir     string  `json:"dir"`
	Files   []entry `json:"files"`
}

// checkpoints is one folder's progress, persisted atomically to one file.
type checkpoints struct {
	path    string
	dir     string
	entries []entry
}

// folderKey names a folder's state files: the source, and a hash of the path.
func folderKey(source, dir string) string {
	sum := sha256.Sum256([]byte(dir))
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, source)
	if len(safe) > 64 {
		safe = safe[:64]
	}
	return safe + "-" + hex.EncodeToString(sum[:6])
}

func checkpointPath(stateDir, source, dir string) string {
	return filepath.Join(stateDir, folderKey(source, dir)+".json")
}

func loadCheckpoints(path, dir string) (*checkpoints, error) {
	c := &checkpoints{path: path, dir: dir}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var f checkpointFile
	if err := json.Unmarshal(b, &f); err != nil {
		// Written by rename only, so this is not a torn write: refuse to guess.
		return nil, fmt.Errorf("checkpoint %s is corrupt (move it away to reprocess the folder): %w", path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("checkpoint %s: unknown version %d", path, f.Version)
	}
	c.entries = f.Files
	return c, nil
}

func (c *checkpoints) save() error {
	b, err := json.Marshal(checkpointFile{Version: 1, Dir: c.dir, Files: c.entries})
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	if err := fsutil.WriteFileAtomic(c.path, b, 0o600); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// find returns the entry of the open file f (device, inode, fingerprint), or nil.
func (c *checkpoints) find(f *os.File, dev, ino uint64) (*entry, error) {
	for i := range c.entries {
		e := &c.entries[i]
		if e.Dev != dev || e.Ino != ino {
			continue
		}
		fp, err := fingerprint(f, e.FPLen)
		if err != nil {
			return nil, err
		}
		if fp == e.FP {
			return e, nil
		}
	}
	return nil, nil
}

// set records progress for id, adding an entry if needed.
func (c *checkpoints) set(id fileID, name string, offset int64, done bool) {
	for i := range c.entries {
		if c.entries[i].fileID == id {
			c.entries[i].Offset, c.entries[i].Done, c.entries[i].Name = offset, done, name
			return
		}
	}
	c.entries = append(c.entries, entry{fileID: id, Offset: offset, Done: done, Name: name})
}

func (c *checkpoints) remove(id fileID) bool {
	for i := range c.entries {
		if c.entries[i].fileID == id {
			c.entries = append(c.entries[:i], c.entries[i+1:]...)
			return true
		}
	}
	return false
}

// prune drops entries whose device/inode is no longer in the folder: the file
// was archived, deleted or moved away, so its progress is moot.
func (c *checkpoints) prune(present map[[2]uint64]bool) bool {
	kept := c.entries[:0]
	for _, e := range c.entries {
		if present[[2]uint64{e.Dev, e.Ino}] {
			kept = append(kept, e)
		}
	}
	changed := len(kept) != len(c.entries)
	c.entries = kept
	return changed
}

// fingerprint hashes the first n bytes of f.
func fingerprint(f *os.File, n int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, n)); err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// identify returns the identity of an open regular file.
func identify(f *os.File, fi os.FileInfo) (fileID, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, errors.New("no device/inode for file")
	}
	n := min(fi.Size(), fingerprintLen)
	fp, err := fingerprint(f, n)
	if err != nil {
		return fileID{}, err
	}
	return fileID{Dev: uint64(st.Dev), Ino: st.Ino, FP: fp, FPLen: n}, nil
}

func devIno(fi os.FileInfo) ([2]uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return [2]uint64{}, false
	}
	return [2]uint64{uint64(st.Dev), st.Ino}, true
}
