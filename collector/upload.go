package collector

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cloudscout/cloudscout/collector/config"
	"github.com/cloudscout/cloudscout/uploader"
	_ "github.com/cloudscout/cloudscout/uploader/file"  // file:// sink
	_ "github.com/cloudscout/cloudscout/uploader/https" // https:// sink
	_ "github.com/cloudscout/cloudscout/uploader/s3"    // s3:// sink
)

// UploadResult is what `cloudscout upload` reports.
type UploadResult struct {
	Batches  int                     `json:"batches"`
	Targets  []uploader.TargetResult `json:"targets"`
	Failures []string                `json:"failures,omitempty"`
}

// Sinks builds the configured targets' sinks (also for `upload --test`).
func Sinks(cfg *config.Config) ([]uploader.Target, error) {
	var out []uploader.Target
	for _, t := range cfg.Upload.Targets {
		s, err := uploader.NewSink(t.URL, t.SinkOptions)
		if err != nil {
			return nil, fmt.Errorf("upload target %s: %w", t.Name, err)
		}
		out = append(out, uploader.Target{Name: t.Name, Sink: s})
	}
	return out, nil
}

func (c *Collector) newUploader() (*uploader.Uploader, error) {
	targets, err := Sinks(c.cfg)
	if err != nil {
		return nil, err
	}
	return uploader.New(uploader.Config{
		Queue:         c.spool,
		Targets:       targets,
		Interval:      c.cfg.Upload.Interval.D(),
		SizeTrigger:   int64(c.cfg.Upload.SizeTrigger),
		StateDir:      filepath.Join(c.cfg.Collector.DataDir, "upload"),
		RetryMax:      c.cfg.Upload.RetryMax.D(),
		MaxBacklogAge: c.cfg.Upload.MaxBacklogAge.D(),
		Logger:        c.log.With().Str("component", "uploader").Logger(),
		Registerer:    c.reg,
	})
}

func (c *Collector) uploaderReady() error {
	if c.uploader == nil {
		return nil
	}
	return c.uploader.Ready()
}

func (c *Collector) targetStatus() []TargetStatus {
	if c.uploader == nil {
		return nil
	}
	st := c.uploader.Status()
	urls := map[string]string{}
	for _, t := range c.cfg.Upload.Targets {
		urls[t.Name] = t.URL
	}
	var out []TargetStatus
	for _, t := range st.Targets {
		le := t.LastError
		if t.LastErrorExplanation != "" {
			le = t.LastErrorExplanation
		}
		out = append(out, TargetStatus{
			Name: t.Name, URL: urls[t.Name], Shipped: int64(t.Delivered), Bytes: t.DeliveredBytes,
			Failures: int64(t.Failures), Pending: t.Pending, LastSuccess: t.LastSuccess, LastError: le,
		})
	}
	return out
}

// uploadNow seals everything and ships it, waiting for the result.
func (c *Collector) uploadNow(ctx context.Context) (UploadResult, error) {
	res, err := c.uploader.Trigger(ctx)
	out := UploadResult{Batches: res.Batches, Targets: res.Targets}
	for _, t := range res.Targets {
		if t.Pending > 0 {
			msg := fmt.Sprintf("%s: %d batch(es) not delivered", t.Name, t.Pending)
			if t.Explanation != "" {
				msg += ": " + t.Explanation
			} else if t.LastError != "" {
				msg += ": " + t.LastError
			}
			out.Failures = append(out.Failures, msg)
		}
	}
	return out, err
}
