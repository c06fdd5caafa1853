// Package spool is the durable on-disk queue between the pipeline and the
// uploader. It implements uploader.Queue.
//
// # Layout
//
// All state lives in file names under Config.Dir; nothing else is persisted:
//
//	open/<seq>-<source>.jsonl.zst.open     segment being written (one per source)
//	batches/<seq>-<source>.jsonl.zst       sealed batch, waiting for upload
//	batches/<seq>-<source>.jsonl.zst.json  its manifest (uploader.Manifest)
//	quarantine/...                         unreadable files, never deleted
//	*.tmp                                  interrupted writes, removed on open
//
// (.jsonl.gz with gzip compression.) <seq> is a 12-digit sequence number,
// global across sources. On open it continues from the larger of the
// highest number found in any of the three folders and the current Unix
// time in centiseconds, so numbers neither collide after a crash nor repeat
// after a drained spool restarts (as long as fewer than 100 segments per
// second are sealed on average and the clock does not step back). A batch's Key and ID derive from collector,
// source, sequence number and first record time, so they are the same
// whenever the batch is (re)sealed or its manifest rebuilt.
//
// # Format
//
// A segment is a sequence of blocks (see block.go): each block is one
// independent zstd frame (or gzip member) of whole JSON lines, preceded by
// a CloudScout header in a zstd skippable frame (or in the gzip FEXTRA
// field) holding the raw length, record count, time range and CRC-32C of
// the compressed payload. Plain decoders skip the header, so sealing is a
// rename and every batch is a valid .zst (or .gz) stream: `zstd -d` or
// `gzip -d` yields the JSON lines.
//
// # Write path
//
// Append copies the record into the source's buffer (one lock, no
// allocation); AppendBatch copies many records, already framed as JSON
// lines, under one lock. A full buffer (Config.BlockBytes) is compressed outside the
// lock and written in order; Sync and Run's group commit also compress
// partial buffers, write, and fsync the segments. So a record is durable
// when the next Sync returns; loss on a crash is bounded by SyncInterval.
// Quota counts disk bytes plus buffered bytes (reserved in 64 KiB steps).
//
// A write error (ENOSPC, say) keeps the unwritten blocks in memory, in
// order; until they are written Append refuses records with an error
// wrapping ErrFull and Sync returns the error. The write is retried by
// Sync, by Run each tick and by Wait, so the spool resumes by itself once
// space is freed. An fsync error retires the segment (sealing what is
// readable) and is returned by every Sync in progress; as everywhere, data
// a failed writeback lost cannot be identified afterwards.
//
// # Sealing
//
// A segment is sealed when it reaches SegmentMaxBytes raw, is older than
// SegmentMaxAge (checked at each Run tick), on SealAll, and when Run
// stops. Sealing fsyncs the segment, writes the manifest (temp, fsync,
// rename), renames the segment into batches/ and fsyncs both directories.
// The manifest's counts, time range and SHA-256 are those the spool kept
// while writing the segment's blocks; after a write or fsync error on the
// segment, when the file may hold other bytes, it re-reads the segment,
// checking every block, as on open. A crash at any step leaves either the
// open segment (sealed again on open) or the batch (its manifest rebuilt
// from the data if missing).
//
// # Recovery
//
// On open, every open segment is checked block by block. A torn tail (an
// incomplete or invalid last block with nothing valid after it) is
// truncated and counted; every complete block is kept; the segment is then
// sealed. Damage followed by valid blocks means corruption, not a crash:
// the valid blocks are copied into a new segment that is sealed, and the
// original goes to quarantine. A file without any valid block, or with a
// name the spool does not know, goes to quarantine. Batches whose manifest
// matches their size are trusted; Open checks the SHA-256 before each
// upload and quarantines a mismatch (ErrCorrupt). Open never refuses to
// start over a bad file. Verify checks everything offline.
//
// The spool assumes one process per directory; the caller holds any
// single-instance lock.
package spool
