// Package fsutil changes files by rename so a crash leaves either the old or
// the new state: write a temp file, fsync it, rename it, fsync the directory.
package fsutil

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SyncDir fsyncs a directory so renames and creations in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// WriteFileAtomic replaces path with data: temp file in the same folder,
// fsync, rename, fsync the folder.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp: %w", err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(name)
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(fmt.Errorf("chmod %s: %w", name, err))
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(fmt.Errorf("write %s: %w", name, err))
	}
	if err := tmp.Sync(); err != nil {
		return fail(fmt.Errorf("fsync %s: %w", name, err))
	}
	if err := tmp.Close(); err != nil {
		return fail(fmt.Errorf("close %s: %w", name, err))
	}
	if err := os.Rename(name, path); err != nil {
		return fail(fmt.Errorf("rename %s: %w", name, err))
	}
	return SyncDir(dir)
}

// NameVariant inserts "~i" before the first extension ("a.log.gz" →
// "a~2.log.gz"), for placing a file without overwriting another.
func NameVariant(name string, i int) string {
	if i == 0 {
		return name
	}
	cut := strings.IndexByte(name[1:], '.') + 1
	if cut <= 0 {
		cut = len(name)
	}
	return name[:cut] + "~" + strconv.Itoa(i) + name[cut:]
}

// MkdirAll creates dir and missing parents, fsyncing the parent of every
// directory it creates so the new entries survive a power loss.
func MkdirAll(dir string, perm fs.FileMode) error {
	dir = filepath.Clean(dir)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return SyncDir(parent)
}

// Result reports what WriteFile wrote.
type Result struct {
	Size   int64
	SHA256 []byte
}

// WriteFile stores r at path atomically: the file appears complete or not
// at all. It creates missing parent directories. When check is not nil it
// sees what was written before the rename and can veto it.
func WriteFile(path string, r io.Reader, perm fs.FileMode, check func(Result) error) (Result, error) {
	var res Result
	vetoed := false
	err := Fill(path, perm, func(tmp *os.File) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(tmp, h), r)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		res = Result{Size: n, SHA256: h.Sum(nil)}
		if check != nil {
			if err := check(res); err != nil {
				vetoed = true
				return err
			}
		}
		return nil
	})
	switch {
	case err == nil:
		return res, nil
	case vetoed:
		return res, err
	default:
		return Result{}, err
	}
}

// Fill stores at path atomically what fill writes into a temporary file in
// the same folder: fsync, rename, fsync the folder. It creates missing
// parent directories. An error from fill leaves nothing behind.
func Fill(path string, perm fs.FileMode, fill func(tmp *os.File) error) error {
	dir := filepath.Dir(path)
	if err := MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	ok = true
	return SyncDir(dir)
}

// RemoveAll removes path and fsyncs its parent directory.
func RemoveAll(path string) error {
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}
