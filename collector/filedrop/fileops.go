package filedrop

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloudscout/cloudscout/internal/fsutil"
)

// maxNameVariants bounds the search for a free name in the archive/quarantine.
const maxNameVariants = 10000

// moveInto moves src into dir under its base name, or a free variant of it,
// never replacing a file. Across filesystems it copies (fsynced) and removes
// the source. It returns the destination path.
func moveInto(src, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	base := filepath.Base(src)
	for i := 0; i < maxNameVariants; i++ {
		dst := filepath.Join(dir, fsutil.NameVariant(base, i))
		err := linkOrCopy(src, dst)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := fsutil.SyncDir(dir); err != nil {
			return "", err
		}
		if err := os.Remove(src); err != nil {
			return "", fmt.Errorf("remove %s after moving it: %w", src, err)
		}
		if err := fsutil.SyncDir(filepath.Dir(src)); err != nil {
			return "", err
		}
		return dst, nil
	}
	return "", fmt.Errorf("no free name for %s in %s", base, dir)
}

// linkOrCopy creates dst as a hard link to src (fails if dst exists), or, when
// links are impossible (another filesystem, a share without links), as a
// fsynced copy written under a temporary name and linked into place.
func linkOrCopy(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil {
		return nil
	}
	var le *os.LinkError
	if errors.As(err, &le) && errors.Is(le.Err, unix.EEXIST) {
		return fs.ErrExist
	}
	if !errors.Is(err, unix.EXDEV) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EMLINK) {
		return fmt.Errorf("link %s: %w", dst, err)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".move-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer func() { _ = os.Remove(tmpName) }()
	if _, err := io.Copy(tmp, in); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("fsync copy: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Keep the original times: retention works on them.
	if fi, err := in.Stat(); err == nil {
		_ = os.Chtimes(tmpName, fi.ModTime(), fi.ModTime())
	}
	if err := os.Link(tmpName, dst); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fs.ErrExist
		}
		// No links at the destination either: no-replace by check, then rename.
		if _, serr := os.Lstat(dst); serr == nil {
			return fs.ErrExist
		}
		if err := os.Rename(tmpName, dst); err != nil {
			return fmt.Errorf("rename copy: %w", err)
		}
	}
	return nil
}

// touch sets a file's times to now (archive retention counts from archiving).
func touch(path string) error {
	now := time.Now()
	return os.Chtimes(path, now, now)
}

// stateLock holds an exclusive flock on the state folder, so two collectors
// never process (and checkpoint) the same folders.
type stateLock struct{ f *os.File }

func lockStateDir(dir string) (*stateLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, "filedrop.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("state folder %s is in use by another process: %w", dir, err)
	}
	return &stateLock{f: f}, nil
}

func (l *stateLock) unlock() {
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
}
