package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// targetCheck compares a result with a reference target. It informs; the
// harness never fails on a number.
type targetCheck struct {
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      string `json:"met"` // yes, no, or n/a (not measured in this run)
}

func (r *report) scenario(name string) *scenarioResult {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name && len(r.Scenarios[i].Runs) > 0 {
			return &r.Scenarios[i]
		}
	}
	return nil
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func checkTargets(r *report) []targetCheck {
	var out []targetCheck
	add := func(target, measured, met string) {
		out = append(out, targetCheck{Target: target, Measured: measured, Met: met})
	}
	if s := r.scenario("tcp-lf"); s != nil {
		m := s.Median
		add("full pipeline over TCP >= 100 MB/s of 700-byte FortiGate lines (2 cores)",
			fmt.Sprintf("%.1f MB/s received (%.0f msg/s), %.0f%% CPU", m.RecvMBps, m.RecvMsgsPerSec, m.CPUPercent), yes(m.RecvMBps >= 100))
		if s.RatioVsRsyslog > 0 {
			add(">= 1.5x rsyslog msgs per CPU-second", fmt.Sprintf("%.2fx (%.0f vs %.0f)", s.RatioVsRsyslog, m.MsgsPerCPUSec, s.Rsyslog.MsgsPerCPUSec), yes(s.RatioVsRsyslog >= 1.5))
		} else {
			add(">= 1.5x rsyslog msgs per CPU-second", "no rsyslog baseline", "n/a")
		}
	} else {
		add("full pipeline over TCP >= 100 MB/s", "not run", "n/a")
	}
	if s := r.scenario("raw"); s != nil {
		add("raw ingest >= 500k msgs per CPU-second", fmt.Sprintf("%.0f msgs/CPU-s", s.Median.MsgsPerCPUSec), yes(s.Median.MsgsPerCPUSec >= 500e3))
	} else {
		add("raw ingest >= 500k msgs per CPU-second", "not run", "n/a")
	}
	if s := r.scenario("udp"); s != nil {
		m := s.Median
		lost := m.UDPLost
		measured := fmt.Sprintf("%d of %d lost (%.3f%%), kernel drops %d, %.0f msg/s sent for %s", lost, m.Sent, 100*float64(lost)/float64(max(m.Sent, 1)), m.UDPKernelDrops, m.GenRate, s.Duration)
		met := yes(lost == 0 && m.GenRate >= 99e3)
		if s.dur.Seconds() < 60 {
			met = "n/a"
			measured += " (run shorter than 60 s)"
		}
		add("UDP: 0 loss at 100k msg/s for 60 s", measured, met)
	} else {
		add("UDP: 0 loss at 100k msg/s for 60 s", "not run", "n/a")
	}
	tls, oct := r.scenario("tls"), r.scenario("tcp-octet")
	if tls != nil && oct != nil && oct.Median.RecvMsgsPerSec > 0 {
		d := 1 - tls.Median.RecvMsgsPerSec/oct.Median.RecvMsgsPerSec
		dc := 1 - tls.Median.MsgsPerCPUSec/oct.Median.MsgsPerCPUSec
		add("TLS <= 10% below plain TCP (same octet framing)", fmt.Sprintf("throughput %.1f%% below, msgs per CPU-s %.1f%% below", 100*d, 100*dc), yes(d <= 0.10))
	} else {
		add("TLS <= 10% below plain TCP", "not run", "n/a")
	}
	var peak, idle float64
	for _, s := range r.Scenarios {
		if len(s.Runs) == 0 {
			continue
		}
		for _, run := range s.Runs {
			peak = max(peak, run.PeakRSSMB)
			idle = max(idle, run.IdleRSSMB)
		}
	}
	if peak > 0 {
		add("peak RSS <= 150 MB", fmt.Sprintf("%.0f MB (highest of all runs)", peak), yes(peak <= 150))
		add("idle RSS <= 30 MB", fmt.Sprintf("%.0f MB (highest of all runs)", idle), yes(idle <= 30))
	}
	return out
}

func writeOutputs(h *harness, r *report) error {
	var txt strings.Builder
	printReport(&txt, r)
	fmt.Print("\n" + txt.String())
	if err := os.WriteFile(filepath.Join(h.out, "report.txt"), []byte(txt.String()), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(h.out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(h.out, "throughput.svg"), []byte(renderSVG(r)), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s, %s, %s\n", filepath.Join(h.out, "report.txt"), filepath.Join(h.out, "results.json"), filepath.Join(h.out, "throughput.svg"))
	return nil
}

func printReport(w io.Writer, r *report) {
	m := r.Machine
	fmt.Fprintf(w, "CloudScout benchmark, %s mode, %s\n", r.Mode, r.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine: %d x %s, %d MB RAM, Linux %s, %s; load average %s at start, %s at end\n", m.CPUs, m.CPUModel, m.MemTotalMB, m.Kernel, m.GoVersion, m.LoadStart, m.LoadEnd)
	if m.RsyslogVers != "" {
		fmt.Fprintf(w, "baseline: %s (imtcp -> omfile)\n", m.RsyslogVers)
	}
	fmt.Fprintln(w, "collector: parse, pseudonymize (HMAC), zstd spool, file:// upload every 5 s; medians of", runsText(r))
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trecv msg/s\trecv MB/s\tship msg/s\tship MB/s zst\tmsg/CPU-s\tCPU %\tidle RSS MB\tpeak RSS MB\tp50 ms\tp99 ms\t")
	for _, s := range r.Scenarios {
		if len(s.Runs) == 0 {
			fmt.Fprintf(tw, "%s\tfailed\t\t\t\t\t\t\t\t\t\t\n", s.Name)
			continue
		}
		x := s.Median
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.0f\t%.2f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t\n", s.Name, x.RecvMsgsPerSec, x.RecvMBps, x.ShipMsgsPerSec, x.ShipMBps, x.MsgsPerCPUSec, x.CPUPercent, x.IdleRSSMB, x.PeakRSSMB, x.LatencyP50, x.LatencyP99)
		if b := s.Rsyslog; b != nil {
			fmt.Fprintf(tw, "rsyslog %s\t%.0f\t%.1f\t-\t-\t%.0f\t%.0f\t-\t%.0f\t-\t-\t\n", s.Name, b.RecvMsgsPerSec, b.RecvMBps, b.MsgsPerCPUSec, b.CPUPercent, b.PeakRSSMB)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, s := range r.Scenarios {
		if s.RatioVsRsyslog > 0 {
			fmt.Fprintf(w, "%s: collector msgs per CPU-second / rsyslog's = %.2f (collector %.0f, rsyslog %.0f)\n", s.Name, s.RatioVsRsyslog, s.Median.MsgsPerCPUSec, s.Rsyslog.MsgsPerCPUSec)
		}
	}
	for _, s := range r.Scenarios {
		if len(s.Runs) == 0 {
			fmt.Fprintf(w, "%s failed: %s\n", s.Name, s.Error)
			continue
		}
		x := s.Median
		if s.Transport == "udp" {
			fmt.Fprintf(w, "udp (medians): sent %d at %.0f msg/s for %s, received %d, lost %d (%.3f%%), kernel drops %d\n", x.Sent, x.GenRate, s.Duration, x.Received, x.UDPLost, 100*float64(x.UDPLost)/float64(max(x.Sent, 1)), x.UDPKernelDrops)
		}
		var probs []string
		probs = append(probs, x.Errors...)
		if x.Failed > 0 {
			probs = append(probs, fmt.Sprintf("%d parse failures", x.Failed))
		}
		if !x.ExitOK {
			probs = append(probs, "a run did not exit cleanly")
		}
		if !x.ManifestsOK {
			probs = append(probs, "manifest record counts differ from the batches")
		}
		if len(probs) > 0 {
			fmt.Fprintf(w, "%s problems: %s\n", s.Name, strings.Join(dedup(probs), "; "))
		}
		if s.Error != "" {
			fmt.Fprintf(w, "%s stopped early: %s\n", s.Name, s.Error)
		}
	}
	if f := r.FileDrop; f != nil {
		if len(f.Runs) > 0 {
			x := f.Median
			cpu := fmt.Sprintf("collector %.1f s CPU; %d spool fsyncs took %.1f s", x.SpoolCPU, x.Fsyncs, x.FsyncSeconds)
			if x.ParseCPU > 0 {
				cpu = fmt.Sprintf("parse %.1f s + spool %.1f s CPU", x.ParseCPU, x.SpoolCPU)
			}
			fmt.Fprintf(w, "file drop (%s): %.0f MB, %.1f MB/s, %.0f lines/s, %.1f MB per CPU-second (%s), zstd ratio %.1f\n",
				x.Proxy, float64(x.InputBytes)/1e6, x.MBps, x.LinesPerSec, x.MBperCPUSec, cpu, x.Ratio)
			if x.SettleSeconds > 0 {
				fmt.Fprintf(w, "  (the file was picked up %.1f s after it was dropped: watched shares wait until a file stops changing; not counted in MB/s)\n", x.SettleSeconds)
			}
		}
		if f.Error != "" {
			fmt.Fprintf(w, "file drop problem: %s\n", f.Error)
		}
	}
	if l := r.Loggen; l != nil {
		if l.Why == "" {
			fmt.Fprintf(w, "syslog-ng loggen -> collector (TCP LF, FortiGate, 2 connections): loggen sent %d at %.0f msg/s; collector %.0f msg/s, %.0f msgs per CPU-second, peak RSS %.0f MB\n",
				l.Sent, l.GenRate, l.RecvMsgsPerSec, l.MsgsPerCPUSec, l.PeakRSSMB)
		} else {
			fmt.Fprintf(w, "syslog-ng loggen: not used: %s\n", l.Why)
		}
	}
	if len(r.GoBench) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "package benchmark\tMB/s\tns/op\tB/op\tallocs/op")
		for _, b := range r.GoBench {
			mbs := "-"
			if b.MBps > 0 {
				mbs = fmt.Sprintf("%.0f", b.MBps)
			}
			fmt.Fprintf(tw, "%s %s\t%s\t%.0f\t%d\t%d\n", b.Package, b.Name, mbs, b.NsPerOp, b.BytesPerOp, b.AllocsPerOp)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "reference target\tmeasured\tmet")
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Target, t.Measured, t.Met)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	fmt.Fprintln(w, "\nrecv = messages counted by the collector / time from the first send to the last receipt;")
	fmt.Fprintln(w, "ship = records in batches in the outbox / time from the first send to the last batch (includes the 5 s upload schedule);")
	fmt.Fprintln(w, "msg/CPU-s = messages / (utime+stime of the process over the same window); latency = batch appearance - record send time.")
}

func runsText(r *report) string {
	for _, s := range r.Scenarios {
		return fmt.Sprintf("%d run(s) per scenario", s.scenario.Runs)
	}
	return "the runs"
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
