package filedrop

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

type dirs struct {
	in, archive, state, quarantine string
}

func newDirs(t *testing.T) dirs {
	base := t.TempDir()
	d := dirs{
		in:         filepath.Join(base, "in"),
		archive:    filepath.Join(base, "archive"),
		state:      filepath.Join(base, "state"),
		quarantine: filepath.Join(base, "quarantine"),
	}
	if err := os.MkdirAll(d.in, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d dirs) folder() Folder {
	return Folder{Source: "proxy1", Dir: d.in, ArchiveDir: d.archive, QuarantineDir: d.quarantine, StableFor: -1}
}

func TestExistingAndNewFiles(t *testing.T) {
	d := newDirs(t)
	existing := filepath.Join(d.in, "existing.log")
	writeFile(t, existing, []byte(w3cSample))
	sink := &recSink{}
	tw := startWatcher(t, Config{Folders: []Folder{d.folder()}, StateDir: d.state, Sink: sink})

	waitFor(t, "existing file archived", 10*time.Second, func() bool { return len(listDir(t, d.archive)) == 1 })
	_, _, committed := sink.snapshot()
	sameLines(t, linesOf(committed, existing), expectLines(w3cSample, 0))
	fileEquals(t, filepath.Join(d.archive, "existing.log"), []byte(w3cSample))

	// A device writes under a temporary name, then renames.
	tmp := filepath.Join(d.in, "new.log.tmp")
	body := strings.Repeat("1709287201.123 120 10.1.2.3 TCP_MISS/200 5120 GET http://example.com/ - HIER_DIRECT/1.2.3.4 text/html\n", 50)
	writeFile(t, tmp, []byte(body[:100]))
	f, err := os.OpenFile(tmp, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(body[100:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	final := filepath.Join(d.in, "new.log")
	if err := os.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "new file archived", 10*time.Second, func() bool {
		return len(listDir(t, d.archive)) == 2 && len(listDir(t, d.in)) == 0
	})
	opens, _, committed := sink.snapshot()
	sameLines(t, linesOf(committed, final), expectLines(body, 0))
	for _, p := range opens {
		if strings.HasSuffix(p, ".tmp") {
			t.Fatalf("temp-named file opened: %s", p)
		}
	}
	if len(opens) != 2 {
		t.Fatalf("opens = %v", opens)
	}
	if got := listDir(t, d.in); len(got) != 0 {
		t.Fatalf("left in folder: %v", got)
	}
	if got := count(tw.w.m.files.WithLabelValues("proxy1", "done")); got != 2 {
		t.Fatalf("files done = %v", got)
	}
	if got := count(tw.w.m.lines.WithLabelValues("proxy1")); got != float64(len(expectLines(w3cSample, 0))+50) {
		t.Fatalf("lines = %v", got)
	}
	tw.stop(t)
}

func gzipBytes(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCompressedFiles(t *testing.T) {
	d := newDirs(t)
	plain := strings.Repeat("2024-03-01 10:00:01 10.1.2.3 jdoe 200 www.example.com\n", 1000)
	writeFile(t, filepath.Join(d.in, "a.log.gz"), gzipBytes(t, []byte(w3cSample+"\n"+plain)))

	var zb bytes.Buffer
	zw, _ := zstd.NewWriter(&zb)
	_, _ = zw.Write([]byte(plain))
	_ = zw.Close()
	writeFile(t, filepath.Join(d.in, "b.log.zst"), zb.Bytes())

	var zipb bytes.Buffer
	zipw := zip.NewWriter(&zipb)
	m1, _ := zipw.Create("part1.log")
	_, _ = m1.Write([]byte("first\nno newline at end"))
	_, _ = zipw.Create("dir/")
	m2, _ := zipw.Create("part2.log")
	_, _ = m2.Write([]byte("second\r\nthird\n"))
	_ = zipw.Close()
	writeFile(t, filepath.Join(d.in, "c.zip"), zipb.Bytes())

	sink := &recSink{}
	startWatcher(t, Config{Folders: []Folder{d.folder()}, StateDir: d.state, Sink: sink})
	waitFor(t, "three files archived", 10*time.Second, func() bool { return len(listDir(t, d.archive)) == 3 })
	_, _, committed := sink.snapshot()
	sameLines(t, linesOf(committed, filepath.Join(d.in, "a.log.gz")), expectLines(w3cSample+"\n"+plain, 0))
	sameLines(t, linesOf(committed, filepath.Join(d.in, "b.log.zst")), expectLines(plain, 0))
	// Zip members in turn; a member's end ends its last line; offsets run on.
	sameLines(t, linesOf(committed, filepath.Join(d.in, "c.zip")), []recLine{
		{off: 0, line: "first"}, {off: 6, line: "no newline at end"}, {off: 23, line: "second"}, {off: 31, line: "third"},
	})
}

// A 1 KB gzip expanding to 100 MB is quarantined without delivering a line;
// the watcher goes on with the next file.
func TestGzipBombQuarantined(t *testing.T) {
	d := newDirs(t)
	bomb := gzipBytes(t, make([]byte, 100<<20))
	if len(bomb) > 200<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	bombPath := filepath.Join(d.in, "bomb.log.gz")
	writeFile(t, bombPath, bomb)
	// A truncated gzip, a gzip inside a gzip, and bzip2.
	good := gzipBytes(t, []byte("line one\nline two\n"))
	writeFile(t, filepath.Join(d.in, "torn.log.gz"), good[:len(good)-6])
	writeFile(t, filepath.Join(d.in, "nested.log.gz.gz"), gzipBytes(t, good))
	writeFile(t, filepath.Join(d.in, "x.log.bz2"), []byte("BZh91AY&SY..."))
	sink := &recSink{}
	f := d.folder()
	f.MaxExpandedBytes = 1 << 20
	tw := startWatcher(t, Config{Folders: []Folder{f}, StateDir: d.state, Sink: sink})
	waitFor(t, "quarantine", 10*time.Second, func() bool { return len(listDir(t, d.quarantine)) == 8 })

	next := filepath.Join(d.in, "next.log")
	dropFile(t, next, []byte("after the bomb\n"))
	waitFor(t, "next file archived", 10*time.Second, func() bool { return len(listDir(t, d.archive)) == 1 })

	opens, delivered, _ := sink.snapshot()
	if len(opens) != 1 || opens[0] != next || len(delivered) != 1 {
		t.Fatalf("opens %v, delivered %d", opens, len(delivered))
	}
	fileEquals(t, filepath.Join(d.quarantine, "bomb.log.gz"), bomb)
	reason, err := os.ReadFile(filepath.Join(d.quarantine, "bomb.log.gz.reason.txt"))
	if err != nil || !strings.Contains(string(reason), "reason: "+reasonBomb) {
		t.Fatalf("reason file: %q %v", reason, err)
	}
	for r, want := range map[string]float64{reasonBomb: 1, reasonCorrupt: 1, reasonNested: 1, reasonUnsupported: 1} {
		if got := count(tw.w.m.quarantined.WithLabelValues(r)); got != want {
			t.Errorf("quarantined{%s} = %v", r, got)
		}
	}
	if got := count(tw.w.m.files.WithLabelValues("proxy1", "quarantined")); got != 4 {
		t.Errorf("files quarantined = %v", got)
	}
}

func TestZipBombAcrossMembersAndTooManyMembers(t *testing.T) {
	d := newDirs(t)
	store := func(zw *zip.Writer, name string) io.Writer {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for i := 0; i < 3; i++ {
		_, _ = store(zw, "m"+strconv.Itoa(i)+".log").Write(bytes.Repeat([]byte("0123456789abcdef\n"), 30000)) // 510 KB each
	}
	_ = zw.Close()
	writeFile(t, filepath.Join(d.in, "sum.zip"), zb.Bytes())

	var many bytes.Buffer
	zw = zip.NewWriter(&many)
	for i := 0; i <= maxZipMembers; i++ {
		store(zw, "f"+strconv.Itoa(i))
	}
	_ = zw.Close()
	writeFile(t, filepath.Join(d.in, "many.zip"), many.Bytes())

	sink := &recSink{}
	f := d.folder()
	f.MaxExpandedBytes = 1 << 20 // each member fits, the sum does not
	tw := startWatcher(t, Config{Folders: []Folder{f}, StateDir: d.state, Sink: sink})
	waitFor(t, "quarantine", 10*time.Second, func() bool {
		return count(tw.w.m.quarantined.WithLabelValues(reasonBomb)) == 1 &&
			count(tw.w.m.quarantined.WithLabelValues(reasonZipEntries)) == 1
	})
	if got := listDir(t, d.quarantine); len(got) != 4 {
		t.Fatalf("quarantine holds %v", got)
	}
	if opens, _, _ := sink.snapshot(); len(opens) != 0 {
		t.Fatalf("opened %v", opens)
	}
}

func TestLongLinesTruncated(t *testing.T) {
	d := newDirs(t)
	long := strings.Repeat("x", 200<<10)
	content := "short\n" + long + "\nafter\n"
	writeFile(t, filepath.Join(d.in, "long.log"), []byte(content))
	sink := &recSink{}
	f := d.folder()
	f.MaxLineBytes = 100
	tw := startWatcher(t, Config{Folders: []Folder{f}, StateDir: d.state, Sink: sink})
	waitFor(t, "archived", 10*time.Second, func() bool { return len(listDir(t, d.archive)) == 1 })
	_, _, committed := sink.snapshot()
	sameLines(t, committed, []recLine{{off: 0, line: "short"}, {off: 6, line: long[:100]}, {off: int64(7 + len(long)), line: "after"}})
	if count(tw.w.m.truncated) != 1 {
		t.Fatal("truncation not counted")
	}
}

// A sink failure mid-file, then a restart: lines after the last checkpoint
// are delivered, none committed before; headers are replayed for the parser.
func TestResumeFromCheckpoint(t *testing.T) {
	d := newDirs(t)
	var b strings.Builder
	b.WriteString("#Software: SGOS\n#Fields: n\n")
	for i := 1; i <= 95; i++ {
		b.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	content := b.String()
	path := filepath.Join(d.in, "resume.log")
	writeFile(t, path, []byte(content))
	all := expectLines(content, 0)

	sink1 := &recSink{failAt: 37} // fails on the 37th line call: headers + 34 lines
	tw := startWatcher(t, Config{Folders: []Folder{d.folder()}, StateDir: d.state, Sink: sink1, CommitEvery: 10})
	waitFor(t, "sink failure", 10*time.Second, func() bool {
		return count(tw.w.m.errors.WithLabelValues("proxy1", "sink")) >= 1
	})
	tw.stop(t)
	_, _, committed1 := sink1.snapshot()
	// 36 lines delivered, 30 committed in three batches of 10.
	sameLines(t, linesOf(committed1, path), all[:30])

	sink2 := &recSink{}
	startWatcher(t, Config{Folders: []Folder{d.folder()}, StateDir: d.state, Sink: sink2, CommitEvery: 10})
	// Archived (linked there, then removed here), and the checkpoint saved
	// without the file (a temporary file, then a rename): lock + checkpoint.
	waitFor(t, "archived", 10*time.Second, func() bool {
		return len(listDir(t, d.archive)) == 1 && len(listDir(t, d.in)) == 0 && len(listDir(t, d.state)) == 2
	})
	_, delivered2, committed2 := sink2.snapshot()
	want := append(append([]recLine(nil), all[:2]...), all[30:]...)
	sameLines(t, linesOf(delivered2, path), want)
	sameLines(t, linesOf(committed2, path), want)
}

// Files whose archiving fails are still all processed (one does not hold up
// the next), and are archived later without being delivered again;
// SetFolders takes effect while running.
func TestArchiveRetriedWithoutRedelivery(t *testing.T) {
	d := newDirs(t)
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	writeFile(t, blocker, []byte("x"))
	writeFile(t, filepath.Join(d.in, "a.log"), []byte("one\ntwo\n"))
	writeFile(t, filepath.Join(d.in, "b.log"), []byte("three\n"))
	f := d.folder()
	f.ArchiveDir = filepath.Join(blocker, "sub") // cannot be created
	sink := &recSink{}
	tw := startWatcher(t, Config{Folders: []Folder{f}, StateDir: d.state, Sink: sink})
	waitFor(t, "both files committed", 10*time.Second, func() bool {
		_, _, c := sink.snapshot()
		return len(c) == 3 && count(tw.w.m.errors.WithLabelValues("proxy1", "archive")) >= 2
	})
	if err := tw.w.SetFolders([]Folder{d.folder()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "archived", 15*time.Second, func() bool { return len(listDir(t, d.archive)) == 2 })
	opens, delivered, _ := sink.snapshot()
	if len(opens) != 2 || len(delivered) != 3 {
		t.Fatalf("opens %v delivered %d", opens, len(delivered))
	}
	if err := tw.w.SetFolders([]Folder{{Source: "x", Dir: "relative"}}); err == nil {
		t.Fatal("bad folder accepted")
	}
}

func TestDeleteWithoutArchiveAndRetention(t *testing.T) {
	d := newDirs(t)
	if err := os.MkdirAll(d.archive, 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(d.archive, "old.log")
	writeFile(t, old, []byte("old\n"))
	long := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d.in, "a.log"), []byte("a\n"))
	other := filepath.Join(t.TempDir(), "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(other, "b.log"), []byte("b\n"))
	f := d.folder()
	f.ArchiveRetention = 24 * time.Hour
	sink := &recSink{}
	startWatcher(t, Config{Folders: []Folder{f, {Source: "share", Dir: other, StableFor: -1}}, StateDir: d.state, Sink: sink})
	waitFor(t, "processed", 10*time.Second, func() bool {
		_, _, c := sink.snapshot()
		return len(c) == 2 && len(listDir(t, other)) == 0
	})
	waitFor(t, "retention", 10*time.Second, func() bool {
		got := listDir(t, d.archive)
		return len(got) == 1 && got[0] == "a.log"
	})
}

func TestSymlinkAndPatternIgnored(t *testing.T) {
	d := newDirs(t)
	secret := filepath.Join(t.TempDir(), "secret")
	writeFile(t, secret, []byte("root:x:0:0\n"))
	if err := os.Symlink(secret, filepath.Join(d.in, "link.log")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d.in, "readme.txt"), []byte("not a log\n"))
	writeFile(t, filepath.Join(d.in, "z.log"), []byte("z\n"))
	f := d.folder()
	f.Pattern = "*.log"
	sink := &recSink{}
	startWatcher(t, Config{Folders: []Folder{f}, StateDir: d.state, Sink: sink})
	// Archiving links the file into the archive, then removes it here: wait
	// for both steps.
	waitFor(t, "z.log archived", 10*time.Second, func() bool {
		return len(listDir(t, d.archive)) == 1 && len(listDir(t, d.in)) == 2
	})
	opens, _, _ := sink.snapshot()
	if len(opens) != 1 || filepath.Base(opens[0]) != "z.log" {
		t.Fatalf("opens = %v", opens)
	}
	if got := listDir(t, d.in); len(got) != 2 || got[0] != "link.log" || got[1] != "readme.txt" {
		t.Fatalf("folder: %v", got)
	}
}

// With StableFor, a file written in place is read only once it has not
// changed for StableFor: every line is delivered by a stream opened at least
// StableFor after that line's write began.
func TestStableFor(t *testing.T) {
	d := newDirs(t)
	path := filepath.Join(d.in, "growing.log")
	f := d.folder()
	f.StableFor = 500 * time.Millisecond
	sink := &recSink{}
	startWatcher(t, Config{Folders: []Folder{f}, StateDir: d.state, Sink: sink})
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var began []time.Time
	writerStalled := false
	for i := 0; i < 5; i++ {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		now := time.Now()
		if i > 0 && now.Sub(began[i-1]) >= f.StableFor {
			writerStalled = true // this machine paused the writer longer than StableFor
		}
		began = append(began, now)
		if _, err := fh.WriteString("chunk " + strconv.Itoa(i) + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	fh.Close()
	waitFor(t, "archived", 10*time.Second, func() bool { return len(listDir(t, d.archive)) == 1 })
	_, delivered, committed := sink.snapshot()
	for _, l := range delivered {
		i, _ := strconv.Atoi(strings.TrimPrefix(l.line, "chunk "))
		if l.opened.Before(began[i].Add(f.StableFor)) {
			t.Fatalf("%q read %v after its write began", l.line, l.opened.Sub(began[i]))
		}
	}
	if !writerStalled {
		sameLines(t, committed, expectLines("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n", 0))
	}
}

func TestSecondInstanceRefused(t *testing.T) {
	d := newDirs(t)
	startWatcher(t, Config{Folders: []Folder{d.folder()}, StateDir: d.state, Sink: &recSink{}})
	waitFor(t, "lock", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(d.state, "filedrop.lock"))
		return err == nil
	})
	w2, err := New(Config{Folders: []Folder{d.folder()}, StateDir: d.state, Sink: &recSink{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w2.Run(ctx); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second instance: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	d := newDirs(t)
	for name, cfg := range map[string]Config{
		"no sink":        {StateDir: d.state},
		"relative state": {StateDir: "state", Sink: &recSink{}},
		"relative dir":   {StateDir: d.state, Sink: &recSink{}, Folders: []Folder{{Source: "s", Dir: "in"}}},
		"no source":      {StateDir: d.state, Sink: &recSink{}, Folders: []Folder{{Dir: d.in}}},
		"duplicate":      {StateDir: d.state, Sink: &recSink{}, Folders: []Folder{d.folder(), d.folder()}},
		"bad pattern":    {StateDir: d.state, Sink: &recSink{}, Folders: []Folder{{Source: "s", Dir: d.in, Pattern: "["}}},
		"archive = dir":  {StateDir: d.state, Sink: &recSink{}, Folders: []Folder{{Source: "s", Dir: d.in, ArchiveDir: d.in}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A file that changes while it is read (a writer still at it, no settle
// time): its unterminated last line is held back, and the rest is read once
// the file changed no more.
func TestFileChangingWhileRead(t *testing.T) {
	d := newDirs(t)
	path := filepath.Join(d.in, "live.log")
	writeFile(t, path, []byte("l1\nl2\npar"))
	sink := &recSink{hook: func(call int) {
		if call == 1 {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				panic(err)
			}
			_, _ = f.WriteString("tial\nl3\n")
			_ = f.Close()
		}
	}}
	startWatcher(t, Config{Folders: []Folder{d.folder()}, StateDir: d.state, Sink: sink})
	waitFor(t, "archived", 10*time.Second, func() bool { return len(listDir(t, d.archive)) == 1 })
	_, delivered, committed := sink.snapshot()
	want := []recLine{{off: 0, line: "l1"}, {off: 3, line: "l2"}, {off: 6, line: "partial"}, {off: 14, line: "l3"}}
	sameLines(t, delivered, want)
	sameLines(t, committed, want)
}
