// Package wire renders a batch manifest as header or metadata fields that
// survive any HTTP stack: printable ASCII only.
package wire

import (
	"mime"
	"strconv"
	"time"

	"github.com/cloudscout/cloudscout/uploader"
)

// Field is one manifest field: Name is the suffix after "X-CloudScout-" (HTTP)
// or "cloudscout-" (S3 metadata).
type Field struct {
	Name, Value string
}

// Fields lists the manifest's fields in a fixed order, empty ones left out.
func Fields(m uploader.Manifest) []Field {
	var f []Field
	add := func(name, v string) {
		if v != "" {
			f = append(f, Field{name, Value(v)})
		}
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	add("Batch-Id", m.ID)
	add("Key", m.Key)
	add("Collector", m.Collector)
	add("Source", m.Source)
	add("Records", strconv.FormatInt(m.Records, 10))
	add("Raw-Bytes", strconv.FormatInt(m.RawBytes, 10))
	add("Sha256", m.SHA256)
	add("Compression", m.Compression)
	add("First-Time", ts(m.FirstTime))
	add("Last-Time", ts(m.LastTime))
	add("Sealed", ts(m.Sealed))
	return f
}

// Value makes s safe as a header value: printable ASCII stays, anything
// else is RFC 2047 encoded (as S3 recommends for metadata).
func Value(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// ContentEncoding maps the manifest compression to a Content-Encoding.
func ContentEncoding(m uploader.Manifest) string {
	switch m.Compression {
	case "", "none", "identity":
		return ""
	}
	return Value(m.Compression)
}

// ContentType is the manifest's content type, application/x-ndjson by default.
func ContentType(m uploader.Manifest) string {
	if m.ContentType == "" {
		return "application/x-ndjson"
	}
	return Value(m.ContentType)
}
