//go:build linux

package ftp

import (
	"errors"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames oldPath to newPath unless newPath exists, in which
// case it fails with an error matching os.ErrExist (unix.EEXIST).
func renameNoReplace(oldPath, newPath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldPath, unix.AT_FDCWD, newPath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		// Filesystems without RENAME_NOREPLACE (some network filesystems).
		return linkRename(oldPath, newPath)
	}
	return err
}

// freeBytes returns the space available to unprivileged users on the
// filesystem holding dir.
func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}
