// Package parsertest runs the golden-file tests, fuzz targets and benchmarks
// that every vendor parser shares.
//
// Golden files: testdata/<format>/*.log at the repository root, each with a
// *.golden.jsonl holding one JSON object per input line: the record as
// `cloudscout parse` prints it, or {"log":{"offset":N},"_skipped":"reason"}
// for a non-traffic line, or {"log":{"offset":N},"_error":"..."} for a line
// that failed. An optional *.opts file sets "timezone=Zone" and
// "now=RFC3339" (defaults: UTC and 2026-06-15T12:00:00Z). Regenerate with
// `go test ./parsers/... -update`, then review the diff.
package parsertest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cloudscout/cloudscout/parsers"
)

var update = flag.Bool("update", false, "rewrite golden files")

// DefaultNow is the fixed clock of golden tests.
var DefaultNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// Root returns the repository root (the folder holding go.mod).
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Files returns the .log inputs of a format.
func Files(tb testing.TB, format string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(Root(tb), "testdata", format, "*.log"))
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

type opts struct {
	loc *time.Location
	now time.Time
}

func readOpts(tb testing.TB, logPath string) opts {
	o := opts{loc: time.UTC, now: DefaultNow}
	b, err := os.ReadFile(strings.TrimSuffix(logPath, ".log") + ".opts")
	if errors.Is(err, os.ErrNotExist) {
		return o
	}
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "timezone":
			l, err := time.LoadLocation(v)
			if err != nil {
				tb.Fatalf("%s: %v", logPath, err)
			}
			o.loc = l
		case "now":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				tb.Fatalf("%s: %v", logPath, err)
			}
			o.now = t
		}
	}
	return o
}

// Render parses a whole input the way `cloudscout parse` does and returns
// the golden representation, one JSON line per input line.
//
// Like the collector, it hands each line to the parser as a string aliasing
// one reused read buffer, and overwrites that buffer with garbage once the
// line's record is encoded: a parser that keeps any part of a line past its
// Parse call (per-stream state not copied with strings.Clone) then reads
// garbage on a later line, and the golden comparison fails.
func Render(tb testing.TB, format string, input []byte, loc *time.Location, now time.Time) []byte {
	tb.Helper()
	p, err := parsers.New(format, parsers.Options{Location: loc})
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	var rec parsers.Record
	buf := make([]byte, len(input)+1) // one buffer for every line, as the framer's
	scribble := newScribbler()
	offset := int64(0)
	for len(input) > 0 {
		line := input
		n := len(input)
		if i := bytes.IndexByte(input, '\n'); i >= 0 {
			line, n = input[:i], i+1
		}
		input = input[n:]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			offset += int64(n)
			continue
		}
		text := unsafe.String(&buf[0], copy(buf, line))
		rec.Reset()
		m := parsers.Meta{Location: loc, Now: now}
		err := parsers.ParseLine(p, text, &m, &rec)
		switch {
		case err == nil:
			rec.LogOffset = parsers.N(offset)
			out.Write(rec.AppendJSON(nil))
		case errors.Is(err, parsers.ErrSkip):
			out.WriteString(`{"log":{"offset":` + parsers.Itoa(offset) + `},"_skipped":`)
			b, _ := json.Marshal(err.Error())
			out.Write(b)
			out.WriteString(`}`)
		default:
			out.WriteString(`{"log":{"offset":` + parsers.Itoa(offset) + `},"_error":`)
			b, _ := json.Marshal(err.Error())
			out.Write(b)
			out.WriteString(`}`)
		}
		out.WriteByte('\n')
		scribble.fill(buf)
		offset += int64(n)
	}
	return out.Bytes()
}

// scribbler overwrites a reused line buffer with deterministic garbage
// (different on every call), so goldens stay reproducible while any string
// a parser kept from an earlier line changes under it.
type scribbler struct{ r *rand.Rand }

func newScribbler() scribbler { return scribbler{rand.New(rand.NewPCG(1, 2))} }

func (s scribbler) fill(b []byte) {
	for i := range b {
		b[i] = byte(s.r.Uint32())
	}
}

// Golden checks every testdata/<format>/*.log against its golden file, or
// rewrites the golden files with -update. It also fails when a format has
// no test data.
func Golden(t *testing.T, format string) {
	t.Helper()
	files := Files(t, format)
	if len(files) == 0 {
		t.Fatalf("no testdata/%s/*.log files", format)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			o := readOpts(t, f)
			got := Render(t, format, in, o.loc, o.now)
			for i, line := range bytes.Split(bytes.TrimSpace(got), []byte("\n")) {
				if !json.Valid(line) {
					t.Errorf("output line %d is not valid JSON: %s", i+1, line)
				}
			}
			golden := strings.TrimSuffix(f, ".log") + ".golden.jsonl"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				gl := strings.Split(string(got), "\n")
				wl := strings.Split(string(want), "\n")
				for i := 0; i < len(gl) || i < len(wl); i++ {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Fatalf("%s line %d differs\n got: %s\nwant: %s", filepath.Base(golden), i+1, g, w)
					}
				}
			}
		})
	}
}

// Lines returns every non-empty line of a format's test data.
func Lines(tb testing.TB, format string) []string {
	tb.Helper()
	var lines []string
	for _, f := range Files(tb, format) {
		fh, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) != "" {
				lines = append(lines, sc.Text())
			}
		}
		fh.Close()
	}
	return lines
}

// Fuzz seeds f with the format's test data and checks that no input panics,
// that every record is valid JSON, and that a parser instance survives
// any sequence of lines.
func Fuzz(f *testing.F, format string) {
	for _, l := range Lines(f, format) {
		f.Add(l)
	}
	f.Add("")
	f.Add("<189>")
	f.Add("\xff\xfe=\"\\")
	f.Fuzz(func(t *testing.T, line string) {
		p, err := parsers.New(format, parsers.Options{Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		var rec parsers.Record
		for i := 0; i < 2; i++ { // twice: per-stream state must stay sane
			rec.Reset()
			m := parsers.Meta{Location: time.UTC, Now: DefaultNow}
			if err := parsers.ParseLine(p, line, &m, &rec); err != nil {
				continue
			}
			if b := rec.AppendJSON(nil); !json.Valid(b) {
				t.Fatalf("invalid JSON for %q: %s", line, b)
			}
		}
	})
}

// Bench measures parsing throughput over the format's test data lines
// (traffic lines only), reporting MB/s and allocations per line.
func Bench(b *testing.B, format string) {
	p, err := parsers.New(format, parsers.Options{Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	var lines []string
	var rec parsers.Record
	size := 0
	for _, l := range Lines(b, format) {
		rec.Reset()
		m := parsers.Meta{Location: time.UTC, Now: DefaultNow}
		if parsers.ParseLine(p, l, &m, &rec) == nil {
			lines = append(lines, l)
			size += len(l) + 1
		}
	}
	if len(lines) == 0 {
		b.Skip("no traffic lines in test data")
	}
	b.SetBytes(int64(size) / int64(len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	var m parsers.Meta // reused, as the pipeline reuses its per-stream state
	for i := 0; i < b.N; i++ {
		rec.Reset()
		m = parsers.Meta{Location: time.UTC, Now: DefaultNow}
		_ = parsers.ParseLine(p, lines[i%len(lines)], &m, &rec)
	}
}

// BenchStream measures traffic lines each parsed with the #Fields layout its
// own file gave it (Bench parses every line with the state the last file
// left, so W3C-style formats need this one).
func BenchStream(b *testing.B, format string) {
	type job struct {
		p    parsers.Parser
		line string
	}
	var jobs []job
	size := 0
	newParser := func() parsers.Parser {
		p, err := parsers.New(format, parsers.Options{Location: time.UTC})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	var rec parsers.Record
	for _, f := range Files(b, format) {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		p := newParser()
		var directives []string
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			if strings.HasPrefix(l, "#") {
				// A fresh parser per directive, holding every directive so
				// far, keeps the earlier lines' parser state intact.
				directives = append(directives, l)
				p = newParser()
				for _, d := range directives {
					m := parsers.Meta{Location: time.UTC, Now: DefaultNow}
					_ = parsers.ParseLine(p, d, &m, &rec)
				}
				continue
			}
			rec.Reset()
			m := parsers.Meta{Location: time.UTC, Now: DefaultNow}
			if parsers.ParseLine(p, l, &m, &rec) == nil {
				jobs = append(jobs, job{p, l})
				size += len(l) + 1
			}
		}
	}
	if len(jobs) == 0 {
		b.Skip("no traffic lines")
	}
	b.SetBytes(int64(size / len(jobs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := jobs[i%len(jobs)]
		rec.Reset()
		m := parsers.Meta{Location: time.UTC, Now: DefaultNow}
		if err := parsers.ParseLine(j.p, j.line, &m, &rec); err != nil {
			b.Fatal(err)
		}
	}
}
