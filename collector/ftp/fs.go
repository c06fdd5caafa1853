package ftp

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/spf13/afero"
	"golang.org/x/sys/unix"

	"github.com/cloudscout/cloudscout/internal/fsutil"
)

// freeCheckEvery is how many bytes an upload writes between free-space checks.
const freeCheckEvery = 4 << 20

// maxNameVariants bounds the search for a free name when the target exists.
const maxNameVariants = 1000

var (
	errNotAllowed   = fmt.Errorf("only files directly in the drop folder: %w", ftpserver.ErrFileNameNotAllowed)
	errSymlink      = fmt.Errorf("not a regular file: %w", ftpserver.ErrFileNameNotAllowed)
	errNoDownloads  = fmt.Errorf("downloads are not offered: %w", os.ErrPermission)
	errNoDirs       = fmt.Errorf("folders are not offered: %w", os.ErrPermission)
	errNoResume     = errors.New("resuming an upload is not supported; upload the whole file again")
	errExists       = errors.New("file exists; APPE only creates new files")
	errFileTooLarge = fmt.Errorf("file larger than this account's limit: %w", ftpserver.ErrStorageExceeded)
	errQuotaFull    = fmt.Errorf("insufficient storage space: drop folder quota reached, retry later: %w", ftpserver.ErrStorageExceeded)
	errDiskFull     = errors.New("insufficient storage space: disk full, retry later")
	errClientGone   = errors.New("client disconnected before the transfer completed")
	errAccountGone  = fmt.Errorf("account no longer exists: %w", os.ErrPermission)
	errDataTLS      = errors.New("this account requires an encrypted data connection (PROT P)")
	errNotSupported = fmt.Errorf("not supported: %w", os.ErrPermission)
	errWriteOnly    = errors.New("upload handles are write-only")
)

// sessionFs is what an authenticated session sees: the account's drop folder
// as a flat directory "/" of regular files. Names are single path components;
// symbolic links and anything else are invisible and untouchable, and every
// operation re-reads the account so SetAccounts takes effect at once.
type sessionFs struct {
	srv  *Server
	sess *session
	user string
}

var (
	_ ftpserver.ClientDriver                      = (*sessionFs)(nil)
	_ ftpserver.ClientDriverExtentionFileTransfer = (*sessionFs)(nil)
	_ ftpserver.ClientDriverExtensionFileList     = (*sessionFs)(nil)
	_ ftpserver.ClientDriverExtensionRemoveDir    = (*sessionFs)(nil)
	_ ftpserver.FileTransfer                      = (*upload)(nil)
	_ ftpserver.FileTransferError                 = (*upload)(nil)
)

func (f *sessionFs) account() (*accountEntry, error) {
	a := f.srv.account(f.user)
	if a == nil {
		return nil, errAccountGone
	}
	return a, nil
}

// fileName maps a library path (absolute, cleaned) to a name in the drop
// folder; "" is the folder itself.
func (f *sessionFs) fileName(p string) (string, error) {
	if p == "/" || p == "" {
		return "", nil
	}
	name, ok := strings.CutPrefix(p, "/")
	if !ok || strings.Contains(name, "/") {
		f.srv.reject(reasonTraversal)
		f.srv.log.Warn().Str("user", f.user).Str("path", truncate(p, 200)).Msg("refused path outside the drop folder")
		return "", errNotAllowed
	}
	if name == "." || name == ".." || name == incomingDir || len(name) > 255 || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "", errNotAllowed
	}
	return name, nil
}

// regular stats name without following a symlink and accepts only regular files.
func regular(dir, name string) (os.FileInfo, error) {
	fi, err := os.Lstat(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: errSymlink}
	}
	return fi, nil
}

func (f *sessionFs) Name() string { return "cloudscout-drop" }

func (f *sessionFs) Stat(p string) (os.FileInfo, error) {
	a, err := f.account()
	if err != nil {
		return nil, err
	}
	name, err := f.fileName(p)
	if err != nil {
		return nil, err
	}
	if name == "" {
		fi, err := os.Stat(a.DropDir)
		if err != nil {
			return nil, err
		}
		return rootInfo{fi}, nil
	}
	fi, err := regular(a.DropDir, name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
	return fi, nil
}

// rootInfo presents the drop folder as "/".
type rootInfo struct{ os.FileInfo }

func (rootInfo) Name() string { return "/" }

func (f *sessionFs) ReadDir(p string) ([]os.FileInfo, error) {
	a, err := f.account()
	if err != nil {
		return nil, err
	}
	name, err := f.fileName(p)
	if err != nil {
		return nil, err
	}
	if name != "" {
		return nil, errNoDirs
	}
	if err := f.checkDataTLS(a); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(a.DropDir)
	if err != nil {
		return nil, err
	}
	out := make([]os.FileInfo, 0, len(entries))
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil {
			out = append(out, fi)
		}
	}
	return out, nil
}

func (f *sessionFs) Open(p string) (afero.File, error) {
	a, err := f.account()
	if err != nil {
		return nil, err
	}
	name, err := f.fileName(p)
	if err != nil {
		return nil, err
	}
	if name != "" {
		return nil, errNoDownloads
	}
	return os.Open(a.DropDir)
}

func (f *sessionFs) OpenFile(p string, _ int, _ os.FileMode) (afero.File, error) {
	return nil, errNotSupported
}

func (f *sessionFs) Create(string) (afero.File, error)          { return nil, errNotSupported }
func (f *sessionFs) Mkdir(string, os.FileMode) error            { return errNoDirs }
func (f *sessionFs) MkdirAll(string, os.FileMode) error         { return errNoDirs }
func (f *sessionFs) RemoveAll(string) error                     { return errNotSupported }
func (f *sessionFs) RemoveDir(string) error                     { return errNoDirs }
func (f *sessionFs) Chmod(string, os.FileMode) error            { return errNotSupported }
func (f *sessionFs) Chown(string, int, int) error               { return errNotSupported }
func (f *sessionFs) Chtimes(p string, _, mtime time.Time) error { return f.chtimes(p, mtime) }

// chtimes serves MFMT (lftp sets the remote time after an upload). It never
// follows a symlink.
func (f *sessionFs) chtimes(p string, mtime time.Time) error {
	a, err := f.account()
	if err != nil {
		return err
	}
	name, err := f.fileName(p)
	if err != nil {
		return err
	}
	if name == "" {
		return errNotSupported
	}
	if _, err := regular(a.DropDir, name); err != nil {
		return err
	}
	ts := unix.NsecToTimespec(mtime.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(a.DropDir, name), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

func (f *sessionFs) Remove(p string) error {
	a, err := f.account()
	if err != nil {
		return err
	}
	name, err := f.fileName(p)
	if err != nil {
		return err
	}
	if name == "" {
		return errNoDirs
	}
	if _, err := regular(a.DropDir, name); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(a.DropDir, name)); err != nil {
		return err
	}
	return fsutil.SyncDir(a.DropDir)
}

// Rename serves RNFR/RNTO. It never replaces a file: if the target exists the
// file gets a free variant of the name, so no completed upload is ever lost.
func (f *sessionFs) Rename(from, to string) error {
	a, err := f.account()
	if err != nil {
		return err
	}
	oldName, err := f.fileName(from)
	if err != nil {
		return err
	}
	newName, err := f.fileName(to)
	if err != nil {
		return err
	}
	if oldName == "" || newName == "" {
		return errNoDirs
	}
	if _, err := regular(a.DropDir, oldName); err != nil {
		return err
	}
	final, err := placeNoReplace(filepath.Join(a.DropDir, oldName), a.DropDir, newName)
	if err != nil {
		return err
	}
	f.srv.log.Info().Str("source", a.Source).Str("from", oldName).Str("to", final).Msg("renamed")
	return nil
}

func (f *sessionFs) checkDataTLS(a *accountEntry) error {
	if !a.TLSRequired {
		return nil
	}
	if cc := f.sess.context(); cc != nil && cc.HasTLSForTransfers() {
		return nil
	}
	f.srv.reject(reasonTLSRequired)
	return errDataTLS
}

// GetHandle opens an upload. Downloads and resumed uploads are refused.
func (f *sessionFs) GetHandle(p string, flags int, offset int64) (ftpserver.FileTransfer, error) {
	a, err := f.account()
	if err != nil {
		return nil, err
	}
	name, err := f.fileName(p)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, errNoDirs
	}
	if flags&(os.O_WRONLY|os.O_RDWR) == 0 {
		return nil, errNoDownloads
	}
	if offset != 0 {
		return nil, errNoResume
	}
	if err := f.checkDataTLS(a); err != nil {
		return nil, err
	}
	switch _, err := os.Lstat(filepath.Join(a.DropDir, name)); {
	case err == nil && flags&os.O_APPEND != 0:
		return nil, errExists
	case err == nil:
		// The target exists: the upload is placed under a free variant.
		if _, rerr := regular(a.DropDir, name); rerr != nil {
			f.srv.reject(reasonTraversal)
			f.srv.log.Warn().Str("user", f.user).Str("name", name).Msg("refused upload onto a symlink or special file")
			return nil, rerr
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if err := f.checkSpace(a, 0); err != nil {
		return nil, err
	}
	stored, err := dirBytes(a.DropDir)
	if err != nil {
		return nil, err
	}
	a.dir.stored.Store(stored)
	if a.QuotaBytes > 0 && stored+a.dir.inflight.Load() >= a.QuotaBytes {
		return nil, f.quotaFull(a)
	}
	// Registered under the server lock so that Run's final wait never races a new upload.
	f.srv.mu.Lock()
	if f.srv.closing {
		f.srv.mu.Unlock()
		return nil, errShutdown
	}
	f.srv.uploadWG.Add(1)
	f.srv.mu.Unlock()
	tmp := filepath.Join(a.DropDir, incomingDir, randomName())
	file, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o640)
	if err != nil {
		f.srv.uploadWG.Done()
		if isDiskFull(err) {
			return nil, f.diskFull(a)
		}
		return nil, fmt.Errorf("create upload file: %w", err)
	}
	f.sess.uploading.Add(1)
	f.sess.lastData.Store(time.Now().UnixNano())
	return &upload{fs: f, acc: a, name: name, tmp: tmp, file: file}, nil
}

// checkSpace refuses an upload (452) when the free space would drop below the minimum.
func (f *sessionFs) checkSpace(a *accountEntry, extra int64) error {
	if f.srv.cfg.MinFreeDiskBytes < 0 {
		return nil
	}
	free, err := freeBytes(a.DropDir)
	if err != nil {
		return fmt.Errorf("free space: %w", err)
	}
	if free-extra < f.srv.cfg.MinFreeDiskBytes {
		return f.diskFull(a)
	}
	return nil
}

func (f *sessionFs) diskFull(a *accountEntry) error {
	f.sess.want452.Store(true)
	f.srv.reject(reasonDiskFull)
	f.srv.log.Warn().Str("source", a.Source).Str("dir", a.DropDir).Msg("upload refused: disk full (452)")
	return errDiskFull
}

func (f *sessionFs) quotaFull(a *accountEntry) error {
	f.sess.want452.Store(true)
	f.srv.reject(reasonQuota)
	f.srv.log.Warn().Str("source", a.Source).Int64("quota", a.QuotaBytes).Msg("upload refused: drop folder quota reached (452)")
	return errQuotaFull
}

func randomName() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// dirBytes sums the sizes of the regular files in a drop folder.
func dirBytes(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n, nil
}

// upload is one STOR/APPE in progress. The library calls Write from the
// transfer goroutine, then TransferError on failure, then Close, and sends
// its final reply (226 only if Close returned nil) after Close.
type upload struct {
	fs   *sessionFs
	acc  *accountEntry
	name string
	tmp  string
	file *os.File

	written    int64
	sinceCheck int64
	failed     error  // our own refusal (quota, disk full, write error)
	result     string // uploads_total result for failed
	xferErr    error  // the library reported a transfer error
	closed     bool
}

func (u *upload) Read([]byte) (int, error) { return 0, errWriteOnly }

func (u *upload) Seek(offset int64, whence int) (int64, error) {
	if offset == 0 && whence == io.SeekStart && u.written == 0 {
		return 0, nil
	}
	return 0, errNoResume
}

func (u *upload) fail(err error, result string) error {
	u.failed, u.result = err, result
	return err
}

func (u *upload) Write(p []byte) (int, error) {
	if u.failed != nil {
		return 0, u.failed
	}
	a, srv := u.acc, u.fs.srv
	n := int64(len(p))
	if u.written+n > a.MaxFileBytes {
		srv.reject(reasonQuota)
		srv.log.Warn().Str("source", a.Source).Str("name", u.name).Int64("max", a.MaxFileBytes).Msg("upload refused: file too large")
		return 0, u.fail(errFileTooLarge, "quota")
	}
	if a.QuotaBytes > 0 && a.dir.stored.Load()+a.dir.inflight.Load()+n > a.QuotaBytes {
		return 0, u.fail(u.fs.quotaFull(a), "quota")
	}
	u.sinceCheck += n
	if u.sinceCheck >= freeCheckEvery {
		u.sinceCheck = 0
		if err := u.fs.checkSpace(a, 0); err != nil {
			return 0, u.fail(err, "disk_full")
		}
	}
	w, err := u.file.Write(p)
	u.written += int64(w)
	a.dir.inflight.Add(int64(w))
	u.fs.sess.lastData.Store(time.Now().UnixNano())
	if err != nil {
		if isDiskFull(err) {
			return w, u.fail(u.fs.diskFull(a), "disk_full")
		}
		return w, u.fail(fmt.Errorf("write: %w", err), "error")
	}
	return w, nil
}

func (u *upload) TransferError(err error) {
	if u.xferErr == nil {
		u.xferErr = err
	}
}

// Close decides the upload's fate: complete and durable in the drop folder
// (return nil: the library then sends 226), or removed (return an error).
func (u *upload) Close() error {
	if u.closed {
		return nil
	}
	u.closed = true
	a, srv, sess := u.acc, u.fs.srv, u.fs.sess
	defer func() {
		a.dir.inflight.Add(-u.written)
		sess.uploading.Add(-1)
		srv.uploadWG.Done()
	}()
	log := srv.log.With().Str("source", a.Source).Str("user", u.fs.user).Str("name", u.name).Int64("bytes", u.written).Logger()
	discard := func(err error, result string) error {
		_ = u.file.Close()
		if rerr := os.Remove(u.tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			log.Error().Err(rerr).Str("tmp", u.tmp).Msg("could not remove incomplete upload")
		}
		srv.m.uploads.WithLabelValues(a.Source, result).Inc()
		log.Warn().Err(err).Str("result", result).Msg("upload discarded")
		return err
	}
	switch {
	case u.failed != nil:
		return discard(u.failed, u.result)
	case u.xferErr != nil:
		return discard(u.xferErr, "aborted")
	}
	if err := u.file.Sync(); err != nil {
		if isDiskFull(err) {
			return discard(u.fs.diskFull(a), "disk_full")
		}
		return discard(fmt.Errorf("fsync: %w", err), "error")
	}
	if err := u.file.Close(); err != nil {
		if isDiskFull(err) {
			return discard(u.fs.diskFull(a), "disk_full")
		}
		return discard(fmt.Errorf("close: %w", err), "error")
	}
	// A client killed mid-upload closes the data connection like a finished
	// one; its control connection is then gone too. Such a file is partial.
	if sess.ctrl.peerGone() {
		return discard(errClientGone, "aborted")
	}
	final, err := placeNoReplace(u.tmp, a.DropDir, u.name)
	if err != nil {
		if isDiskFull(err) {
			return discard(u.fs.diskFull(a), "disk_full")
		}
		return discard(err, "error")
	}
	a.dir.stored.Add(u.written)
	srv.m.uploads.WithLabelValues(a.Source, "ok").Inc()
	srv.m.bytes.WithLabelValues(a.Source).Add(float64(u.written))
	log.Info().Str("file", final).Msg("upload complete")
	return nil
}

// placeNoReplace renames src into dir as name, or as a free variant of name
// ("x.log" -> "x~1.log") if that exists, then fsyncs dir. It returns the name used.
func placeNoReplace(src, dir, name string) (string, error) {
	for i := 0; i < maxNameVariants; i++ {
		cand := fsutil.NameVariant(name, i)
		err := renameNoReplace(src, filepath.Join(dir, cand))
		if errors.Is(err, fs.ErrExist) || errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("place upload: %w", err)
		}
		if err := fsutil.SyncDir(dir); err != nil {
			return "", err
		}
		return cand, nil
	}
	return "", fmt.Errorf("place upload: no free name for %q", name)
}
