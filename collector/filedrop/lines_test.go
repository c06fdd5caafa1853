package filedrop

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestZipEntryCount(t *testing.T) {
	for _, n := range []int{0, 1, 20, 70000} {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for i := 0; i < n; i++ {
			method := zip.Deflate
			if n > 100 {
				method = zip.Store
			}
			if _, err := zw.CreateHeader(&zip.FileHeader{Name: "f", Method: method}); err != nil {
				t.Fatal(err)
			}
		}
		_ = zw.Close()
		r := bytes.NewReader(b.Bytes())
		got, err := zipEntryCount(r, int64(b.Len()))
		if err != nil || got != uint64(n) {
			t.Errorf("%d entries: got %d, %v", n, got, err)
		}
	}
	if _, err := zipEntryCount(strings.NewReader("PK\x03\x04 not a zip"), 16); err == nil {
		t.Error("garbage accepted")
	}
}

func TestLineReader(t *testing.T) {
	in := "a\r\n\nbb\n" + strings.Repeat("x", 10) + "\nlast"
	lr := newLineReader(strings.NewReader(in), 100, 5)
	type got struct {
		line       string
		start, end int64
		trunc      bool
	}
	var out []got
	for {
		line, s, e, tr, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got{string(line), s, e, tr})
	}
	want := []got{{"a", 100, 103, false}, {"", 103, 104, false}, {"bb", 104, 107, false}, {"xxxxx", 107, 118, true}, {"last", 118, 122, false}}
	if len(out) != len(want) {
		t.Fatalf("got %v", out)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, out[i], want[i])
		}
	}
}
