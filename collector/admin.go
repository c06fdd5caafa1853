package collector

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloudscout/cloudscout/parsers"
)

// Status is what `cloudscout status` shows, served at /api/status.
type Status struct {
	Version   string         `json:"version"`
	Collector string         `json:"collector"`
	Started   time.Time      `json:"started"`
	Uptime    string         `json:"uptime"`
	Ready     bool           `json:"ready"`
	Problems  []string       `json:"problems,omitempty"`
	Sources   []SourceStatus `json:"sources"`
	Spool     SpoolStatus    `json:"spool"`
	Targets   []TargetStatus `json:"targets"`
}

// SourceStatus holds a source's figures.
type SourceStatus struct {
	Name         string    `json:"name"`
	Format       string    `json:"format"`
	Received     int64     `json:"received"`
	Records      int64     `json:"records"`
	Skipped      int64     `json:"skipped"`
	Failed       int64     `json:"failed"`
	Truncated    int64     `json:"truncated"`
	Dropped      int64     `json:"dropped"`
	LastReceived time.Time `json:"last_received,omitzero"`
	// Coverage is the share (0..1) of records carrying each discovery field.
	Coverage    map[string]float64 `json:"coverage"`
	Hints       []string           `json:"hints,omitempty"`
	FirstErrors []string           `json:"first_errors,omitempty"`
}

// SpoolStatus holds the spool's figures.
type SpoolStatus struct {
	UsedBytes      int64     `json:"used_bytes"`
	QuotaBytes     int64     `json:"quota_bytes"`
	PendingBytes   int64     `json:"pending_bytes"`
	Batches        int       `json:"batches"`
	OldestBatch    time.Time `json:"oldest_batch,omitzero"`
	Full           bool      `json:"full"`
	WriteError     string    `json:"write_error,omitempty"`
	Quarantined    int64     `json:"quarantined"`
	RecordsSpooled int64     `json:"records_spooled"`
}

// TargetStatus holds one upload target's figures.
type TargetStatus struct {
	Name        string    `json:"name"`
	URL         string    `json:"url"`
	Shipped     int64     `json:"batches_shipped"`
	Bytes       int64     `json:"bytes_shipped"`
	Failures    int64     `json:"failures"`
	Pending     int       `json:"pending"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// Status returns a snapshot of the running collector.
func (c *Collector) Status() Status {
	st := Status{
		Version:   c.opts.Version,
		Collector: c.cfg.Collector.Name,
		Started:   c.started,
		Uptime:    time.Since(c.started).Round(time.Second).String(),
	}
	cfg := c.config()
	problems := c.problems()
	st.Ready = len(problems) == 0
	st.Problems = problems
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		ss := c.pipe.Stats(s.Name)
		if ss == nil {
			continue
		}
		out := SourceStatus{
			Name: s.Name, Format: s.Format,
			Received: ss.Received.Load(), Records: ss.Records.Load(), Skipped: ss.Skipped.Load(),
			Failed: ss.Failed.Load(), Truncated: ss.Truncated.Load(), Dropped: ss.Dropped.Load(),
			FirstErrors: ss.FirstErrors(),
		}
		if n := ss.lastReceived.Load(); n > 0 {
			out.LastReceived = time.Unix(0, n)
		}
		out.Coverage, out.Hints = coverage(s.Format, ss)
		st.Sources = append(st.Sources, out)
	}
	sp := c.spool.Stats()
	st.Spool = SpoolStatus{
		UsedBytes:      sp.OpenBytes + sp.SealedBytes + sp.BufferedBytes,
		QuotaBytes:     sp.QuotaBytes,
		PendingBytes:   sp.SealedBytes,
		Batches:        sp.SealedBatches,
		OldestBatch:    sp.OldestBatch,
		Full:           sp.Full,
		WriteError:     sp.WriteError,
		Quarantined:    sp.Quarantined,
		RecordsSpooled: sp.Records,
	}
	st.Targets = c.targetStatus()
	return st
}

// coverage computes field shares and the hints that tell an admin what to
// change on the device.
func coverage(format string, ss *SourceStats) (map[string]float64, []string) {
	c := parsers.Coverage{Records: ss.Records.Load(), User: ss.WithUser.Load(), URL: ss.WithURL.Load(), Bytes: ss.WithBytes.Load(), Action: ss.WithAction.Load()}
	return c.Shares(), c.Hints(format)
}

// problems lists what makes the collector not ready.
func (c *Collector) problems() []string {
	var p []string
	c.mu.Lock()
	running := c.running
	c.mu.Unlock()
	if !running {
		p = append(p, "not running (starting or stopping)")
	}
	sp := c.spool.Stats()
	if sp.Full {
		p = append(p, "spool full: TCP senders are slowed and UDP messages dropped until uploads free space")
	}
	if sp.WriteError != "" {
		p = append(p, "spool cannot write: "+sp.WriteError)
	}
	if err := c.uploaderReady(); err != nil {
		p = append(p, err.Error())
	}
	return p
}

func (c *Collector) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{Registry: c.reg}))
	// Profiles for performance work; the admin endpoint is loopback-only by default.
	mux.HandleFunc("GET /debug/pprof/{name}", pprofHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if p := c.problems(); len(p) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready:\n- " + strings.Join(p, "\n- ") + "\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, c.Status())
	})
	mux.HandleFunc("POST /api/reload", func(w http.ResponseWriter, r *http.Request) {
		notes, err := c.ReloadFromSource()
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "changes": notes})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"changes": notes})
	})
	mux.HandleFunc("POST /api/upload", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Minute)
		defer cancel()
		res, err := c.uploadNow(ctx)
		if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "result": res})
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	return mux
}

// ReloadFromSource reads the configuration again (Options.LoadConfig) and
// applies it; SIGHUP and 'cloudscout reload' end here.
func (c *Collector) ReloadFromSource() ([]string, error) {
	if c.opts.LoadConfig == nil {
		return nil, errors.New("this collector cannot reload (no configuration loader)")
	}
	cfg, err := c.opts.LoadConfig()
	if err != nil {
		return nil, err
	}
	return c.Reload(cfg)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
