package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profileRun runs one scenario once more and profiles the collector: with
// the admin endpoint's pprof (the binary under test; written to
// OUT/profile-<scenario>.pb.gz and summarized in -top.txt and -cum.txt) and,
// when perf is installed, with 'perf record -g' on an unstripped build, which
// also shows kernel time (OUT/profile-<scenario>-perf-{self,children}.txt).
func (h *harness) profileRun(ctx context.Context, sc scenario) error {
	sc.Runs = 1
	prof := filepath.Join(h.out, "profile-"+sc.Name+".pb.gz")
	h.pprof = prof
	fmt.Printf("== profile: %s with pprof\n", sc.Name)
	r, err := runCollector(ctx, h, sc, 98)
	h.pprof = ""
	if err != nil {
		return err
	}
	var errs []error
	if len(r.Errors) > 0 {
		errs = append(errs, fmt.Errorf("%s", strings.Join(r.Errors, "; ")))
	}
	if _, err := os.Stat(prof); err == nil {
		for _, mode := range []string{"top", "cum"} {
			args := []string{"tool", "pprof", "-top", "-nodecount=45"}
			if mode == "cum" {
				args = append(args, "-cum")
			}
			out, e, _, err := runCapture(ctx, 2*time.Minute, h.root, h.goBin, append(args, prof)...)
			if err != nil {
				errs = append(errs, fmt.Errorf("go tool pprof: %v: %s", err, lastLine(e)))
				break
			}
			if err := os.WriteFile(filepath.Join(h.out, fmt.Sprintf("profile-%s-%s.txt", sc.Name, mode)), out, 0o644); err != nil {
				return err
			}
		}
	}
	perf, err := exec.LookPath("perf")
	if err != nil {
		return errors.Join(errs...)
	}
	bin := filepath.Join(h.work, "cloudscout-symbols")
	if _, err := os.Stat(bin); err != nil {
		if err := h.build(ctx, bin, nil, false); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	data := filepath.Join(h.work, "perf.data")
	saved := h.bin
	h.bin, h.perf, h.perfBin = bin, data, perf
	defer func() { h.bin, h.perf = saved, "" }()
	fmt.Printf("== profile: %s under perf record\n", sc.Name)
	r, err = runCollector(ctx, h, sc, 99)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	fmt.Printf("   (profiled run: %.0f msg/s, %.0f msg/CPU-s; perf itself costs CPU)\n", r.RecvMsgsPerSec, r.MsgsPerCPUSec)
	for _, mode := range []string{"self", "children"} {
		args := []string{"report", "-i", data, "--stdio", "--sort", "symbol", "--percent-limit", "0.7"}
		if mode == "self" {
			args = append(args, "--no-children", "-g", "none")
		} else {
			args = append(args, "--children", "-g", "none")
		}
		out, e, _, err := runCapture(ctx, 5*time.Minute, h.work, perf, args...)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("perf report: %v: %s", err, lastLine(e)))...)
		}
		if err := os.WriteFile(filepath.Join(h.out, fmt.Sprintf("profile-%s-perf-%s.txt", sc.Name, mode)), out, 0o644); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// fetchProfile saves the CPU profile of the next d (rounded up to whole
// seconds) from the admin endpoint's /debug/pprof/profile.
func fetchProfile(ctx context.Context, base, path string, d time.Duration) error {
	secs := int((d + time.Second - 1) / time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: d + time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s (is /debug/pprof served on the admin endpoint?)", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startPerf attaches perf record to pid; stop it with stop().
func (h *harness) startPerf(pid int, dir string) (*child, error) {
	return startChild(filepath.Join(dir, "perf.log"), dir, h.perfBin, "record", "-F", "499", "-g", "-p", fmt.Sprint(pid), "-o", h.perf)
}
