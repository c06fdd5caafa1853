// Package uploader ships sealed spool batches to one or more sinks on a
// schedule, at least once, removing a batch only when every sink has it.
//
// It imports nothing else of CloudScout: the spool satisfies Queue.
//
// Schedule: every Config.Interval the open segments are sealed and all
// pending batches ship; in between, a target ships as soon as the sealed
// bytes it lacks reach Config.SizeTrigger (measured every PollInterval or on
// Notify); Trigger ships at once and waits for the result.
//
// Targets: each target has its own worker, oldest batch first, so a slow or
// failing target never holds back another. Progress is kept per target in
// StateDir/delivered/<target>/ (one small file per batch, written by
// rename), so a restart does not resend what a target already has. A batch
// leaves the spool when every target has it.
//
// Retries: a failed attempt waits a random time up to RetryBase*2^n, capped
// at RetryMax (full jitter), at least what Retry-After asks; there is no
// attempt limit. Sinks return *StatusError for answers, *ProxyError for a
// refused tunnel and *PermanentError when the batch itself is refused (e.g.
// HTTP 400, S3 BadDigest). Authentication, missing bucket or URL, throttling
// and server errors are retried, since fixing the target delivers the
// backlog. Classify names the failure class and explains it.
//
// Dead letters: a permanently refused batch is copied, with its manifest
// and reject.json (status, response excerpt, explanation), into
// StateDir/deadletter/<target>/<batch>/ and counts as handled for that
// target. Requeue moves those folders to StateDir/requeue/<target>/, from
// where the running uploader sends them to that target alone.
//
// Sinks register a URL scheme (RegisterSink) from init(): import
// uploader/file, uploader/https and uploader/s3 for file://, https:// and
// s3://. NewSink builds one from a URL and SinkOptions.
package uploader

import (
	"context"
	"io"
	"os"
	"time"
)

// Manifest describes one sealed batch. It is written beside the batch by the
// spool at seal time and travels with the batch to every sink.
type Manifest struct {
	// Key is the deterministic object key of the batch, e.g.
	// "cloudscout-01/fw-hq/2026/11/28/000000000042-20261128T091500Z.jsonl.zst".
	// The same batch always has the same key, so a re-sent batch overwrites.
	Key         string    `json:"key"`
	ID          string    `json:"id"` // unique batch id (idempotency key), stable across restarts
	Collector   string    `json:"collector"`
	Source      string    `json:"source"`
	Records     int64     `json:"records"`
	Bytes       int64     `json:"bytes"`        // compressed size of the batch file
	RawBytes    int64     `json:"raw_bytes"`    // uncompressed JSON lines
	SHA256      string    `json:"sha256"`       // hex digest of the batch file
	Compression string    `json:"compression"`  // "zstd" or "gzip"
	ContentType string    `json:"content_type"` // "application/x-ndjson"
	FirstTime   time.Time `json:"first_time"`   // earliest @timestamp in the batch
	LastTime    time.Time `json:"last_time"`    // latest @timestamp in the batch
	Sealed      time.Time `json:"sealed"`
	// Parse holds the source's parse figures for the interval this batch
	// covers (received, parsed, skipped, failed, dropped...).
	Parse map[string]int64 `json:"parse,omitempty"`
}

// Batch is one sealed, durable batch waiting in the spool.
type Batch struct {
	Manifest Manifest
	Path     string // file holding the compressed batch
}

// Queue is what the uploader needs from the spool. The uploader calls its
// methods one at a time (it serializes them); a body returned by Open may be
// read while other calls run. Open should return an *os.File (or any reader
// with Stat, Seek and ReadAt) so sinks can rewind and read parts without
// buffering.
type Queue interface {
	// Batches lists the sealed batches, oldest first.
	Batches() ([]Batch, error)
	// Open opens a batch's body for reading.
	Open(b Batch) (io.ReadCloser, error)
	// Remove deletes a delivered batch durably.
	Remove(b Batch) error
	// SealAll seals every open segment that holds records, so that it ships.
	SealAll() error
}

// VerifiedFile is implemented by a body its Queue checked against the
// batch's size and SHA-256 when Open returned it (the spool's bodies do).
// A sink may then copy the file without hashing it again, when the checked
// SHA-256 and size are the ones it was asked to deliver. A body wrapped on
// the way (a bandwidth limit, say) no longer implements it.
type VerifiedFile interface {
	io.ReadCloser
	// VerifiedFile returns the file, positioned at its start and holding
	// exactly the checked bytes, with their hex SHA-256 and size. The file
	// belongs to the body: Close closes it.
	VerifiedFile() (f *os.File, sha256 string, size int64)
}

// Sink stores batches somewhere: a folder, an HTTPS endpoint, a bucket.
type Sink interface {
	// Put stores one batch. It must be idempotent: the same key may come again
	// after a crash, and storing it twice must leave one object.
	Put(ctx context.Context, key string, body io.Reader, size int64, m Manifest) error
	// String names the target for logs and metrics, without secrets.
	String() string
}
