// Package uploader ships sealed spool batches to one or more sinks on a
// schedule, at least once, removing a batch only when every sink has it.
//
// It imports nothing else of CloudScout: the spool satisfies Queue.
package uploader

import (
	"context"
	"io"
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

// Queue is what the uploader needs from the spool.
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

// Sink stores batches somewhere: a folder, an HTTPS endpoint, a bucket.
type Sink interface {
	// Put stores one batch. It must be idempotent: the same key may come again
	// after a crash, and storing it twice must leave one object.
	Put(ctx context.Context, key string, body io.Reader, size int64, m Manifest) error
	// String names the target for logs and metrics, without secrets.
	String() string
}
