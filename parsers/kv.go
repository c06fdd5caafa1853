package parsers

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unsafe"
)

// ScanKV walks "key=value" pairs separated by sep (usually ' '), calling fn
// for each until it returns false. Values may be double-quoted, with
// backslash escapes and spaces, '=' and sep inside; an unquoted value runs
// to the next sep. Keys are not unescaped. Text without '=' between pairs is
// skipped. It allocates only for quoted values that contain escapes.
func ScanKV(s string, sep byte, fn func(key, value string) bool) {
	// The searches below test 8 bytes at a time (SWAR): most keys and
	// values end in the first word read, and a line's varying value lengths
	// cost fewer mispredicted branches than a loop per byte does.
	seps := swarLo * uint64(sep)
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == sep || s[i] == ' ') {
			i++
		}
		if i >= len(s) {
			return
		}
		ks := i
		for ; i+8 <= len(s); i += 8 {
			w := load8(s, i)
			if m := zeroBytes(w^(swarLo*'=')) | zeroBytes(w^seps); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto keyEnd
			}
		}
		for i < len(s) && s[i] != '=' && s[i] != sep {
			i++
		}
	keyEnd:
		if i >= len(s) {
			return
		}
		if s[i] != '=' {
			continue // a word without '=': skip it
		}
		key := s[ks:i]
		i++ // '='
		if i < len(s) && s[i] == '"' {
			v, next, closed := KVQuoted(s, i)
			if !fn(key, v) || !closed {
				return // an unterminated quote took the rest of the line
			}
			i = next
			continue
		}
		vs := i
		for ; i+8 <= len(s); i += 8 {
			if m := zeroBytes(load8(s, i) ^ seps); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto valueEnd
			}
		}
		for i < len(s) && s[i] != sep {
			i++
		}
	valueEnd:
		if !fn(key, s[vs:i]) {
			return
		}
	}
}

// KVQuoted reads the double-quoted value that starts at s[i] (a '"'), as
// ScanKV does: the closing quote is the first '"' not escaped by a
// backslash, and a backslash escapes the byte after it, whatever it is
// (readQuoted's rule). It returns the value, unescaped, and the index after
// the closing quote; an unterminated quote makes the rest of s the value,
// with closed false.
func KVQuoted(s string, i int) (v string, next int, closed bool) {
	esc := false
	j := i + 1
	for {
		for ; j+8 <= len(s); j += 8 {
			w := load8(s, j)
			if m := zeroBytes(w^(swarLo*'"')) | zeroBytes(w^(swarLo*'\\')); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				goto quoteEnd
			}
		}
		for j < len(s) && s[j] != '"' && s[j] != '\\' {
			j++
		}
	quoteEnd:
		if j >= len(s) || s[j] == '"' {
			break
		}
		esc = true
		j += 2
	}
	if j >= len(s) {
		return s[i+1:], len(s), false
	}
	v = s[i+1 : j]
	if esc {
		v = unescapeBackslash(v)
	}
	return v, j + 1, true
}

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// zeroBytes sets the high bit of the bytes of x that are zero (x is a word
// xor a byte repeated: zero where they match). A byte above a zero byte
// may be marked too (the borrow runs on), so only the lowest mark is exact,
// and a result of 0 means no zero byte: all the searches need.
func zeroBytes(x uint64) uint64 { return (x - swarLo) &^ x & swarHi }

// load8 reads s[i:i+8] as a little-endian word (one load on amd64 and
// arm64); the caller checks i+8 <= len(s).
func load8(s string, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))[:])
}

// KVGet returns the value of key in a ScanKV-style line, for Detect functions
// and sparse lookups.
func KVGet(s string, sep byte, key string) (string, bool) {
	var out string
	found := false
	ScanKV(s, sep, func(k, v string) bool {
		if k == key {
			out, found = v, true
			return false
		}
		return true
	})
	return out, found
}

// HasKVKeys reports whether every key appears as "key=" at a pair boundary
// in s; a cheap test for Detect functions.
func HasKVKeys(s string, keys ...string) bool {
	for _, k := range keys {
		if !hasKVKey(s, k) {
			return false
		}
	}
	return true
}

func hasKVKey(s, k string) bool {
	off := 0
	for {
		i := strings.Index(s[off:], k)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(k)
		if end < len(s) && s[end] == '=' && (i == 0 || s[i-1] == ' ' || s[i-1] == ',' || s[i-1] == ';' || s[i-1] == '|' || s[i-1] == '\t') {
			return true
		}
		off = i + 1
	}
}
