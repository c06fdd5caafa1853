package collector

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cloudscout/cloudscout/collector/config"
	"github.com/cloudscout/cloudscout/collector/filedrop"
	"github.com/cloudscout/cloudscout/collector/ftp"
)

// FileSink adapts the pipeline to the file-drop watcher.
type FileSink struct{ p *Pipeline }

var _ filedrop.Sink = FileSink{}

// Open implements filedrop.Sink.
func (s FileSink) Open(source, path string) filedrop.FileStream {
	fs, err := s.p.OpenFile(source, path)
	if err != nil {
		return failedStream{err}
	}
	return fs
}

// failedStream reports a source that vanished (reload) for every line, so
// the watcher keeps the file and retries rather than losing it.
type failedStream struct{ err error }

func (f failedStream) Line(context.Context, []byte, int64) error { return f.err }
func (f failedStream) Commit(context.Context) error              { return f.err }
func (f failedStream) Close()                                    {}

func absPath(base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if abs, err := filepath.Abs(filepath.Join(base, p)); err == nil {
		return abs
	}
	return p
}

// dropDir is where a source's FTP uploads land.
func dropDir(cfg *config.Config, source string) string {
	return absPath("", filepath.Join(cfg.Collector.DataDir, "drop", source))
}

// ftpAccounts derives the FTP accounts from the sources.
func ftpAccounts(cfg *config.Config) []ftp.Account {
	var out []ftp.Account
	for _, s := range cfg.Sources {
		if s.FTP == nil {
			continue
		}
		tlsReq := s.FTP.TLS == "required" || (s.FTP.TLS == "" && cfg.FTP.Cert != "")
		out = append(out, ftp.Account{
			Source:       s.Name,
			User:         s.FTP.User,
			PasswordHash: s.FTP.PasswordHash,
			DropDir:      dropDir(cfg, s.Name),
			TLSRequired:  tlsReq,
			MaxFileBytes: int64(cfg.FTP.MaxFileSize),
			QuotaBytes:   int64(s.FTP.Quota),
		})
	}
	return out
}

// watchFolders derives the watched folders: every FTP drop folder, and
// every configured watch.
func watchFolders(cfg *config.Config) []filedrop.Folder {
	var out []filedrop.Folder
	for _, s := range cfg.Sources {
		if s.FTP != nil {
			archive := ""
			if cfg.FTP.Archive {
				archive = absPath("", filepath.Join(cfg.Collector.DataDir, "archive", s.Name))
			}
			out = append(out, filedrop.Folder{
				Source:           s.Name,
				Dir:              dropDir(cfg, s.Name),
				ArchiveDir:       archive,
				ArchiveRetention: cfg.FTP.ArchiveRetention.D(),
				StableFor:        -1, // the FTP server renames files in only when complete
			})
		}
		for _, w := range s.Watch {
			out = append(out, filedrop.Folder{
				Source:           s.Name,
				Dir:              absPath("", w.Dir),
				Pattern:          w.Pattern,
				ArchiveDir:       absPath("", w.Archive),
				ArchiveRetention: w.ArchiveRetention.D(),
				// Shares are written in place by other machines: wait until a
				// file stops changing before reading it.
				StableFor: 10 * time.Second,
			})
		}
	}
	return out
}

func hasFTP(cfg *config.Config) bool {
	for _, s := range cfg.Sources {
		if s.FTP != nil {
			return true
		}
	}
	return false
}

func (c *Collector) newFTP() (*ftp.Server, error) {
	cfg := c.cfg
	lo, hi, err := config.ParsePortRange(cfg.FTP.PassivePorts)
	if err != nil {
		return nil, fmt.Errorf("ftp.passive_ports: %w", err)
	}
	return ftp.New(ftp.Config{
		Address:            cfg.FTP.Listen,
		ImplicitTLSAddress: cfg.FTP.ImplicitTLS,
		CertFile:           cfg.FTP.Cert,
		KeyFile:            cfg.FTP.Key,
		PassivePortMin:     lo,
		PassivePortMax:     hi,
		PublicHost:         cfg.FTP.PublicHost,
		ActiveMode:         cfg.FTP.ActiveMode,
		MaxConnections:     cfg.FTP.MaxConns,
		IdleTimeout:        cfg.FTP.IdleTimeout.D(),
		BanAfter:           cfg.FTP.BanAfter,
		BanDuration:        cfg.FTP.BanDuration.D(),
		MinFreeDiskBytes:   int64(cfg.FTP.MinFreeDisk),
		Accounts:           ftpAccounts(cfg),
		Logger:             c.log.With().Str("component", "ftp").Logger(),
		Registerer:         c.reg,
	})
}

func (c *Collector) newWatcher() (*filedrop.Watcher, error) {
	return filedrop.New(filedrop.Config{
		Folders:    watchFolders(c.cfg),
		StateDir:   c.dataPath("filedrop"),
		Sink:       FileSink{c.pipe},
		Logger:     c.log.With().Str("component", "filedrop").Logger(),
		Registerer: c.reg,
	})
}
