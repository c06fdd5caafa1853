package parsers

import "strings"

// ScanKV walks "key=value" pairs separated by sep (usually ' '), calling fn
// for each until it returns false. Values may be double-quoted, with
// backslash escapes and spaces, '=' and sep inside; an unquoted value runs
// to the next sep. Keys are not unescaped. Text without '=' between pairs is
// skipped. It allocates only for quoted values that contain escapes.
func ScanKV(s string, sep byte, fn func(key, value string) bool) {
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == sep || s[i] == ' ') {
			i++
		}
		if i >= len(s) {
			return
		}
		// key
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != sep {
			i++
		}
		if i >= len(s) {
			return
		}
		if s[i] != '=' {
			continue // a word without '=': skip it
		}
		key := s[ks:i]
		i++ // '='
		if i < len(s) && s[i] == '"' {
			// Most quoted values hold no escapes: find the closing quote
			// here, saving readQuoted's call for the ones that do.
			j := i + 1
			for j < len(s) && s[j] != '"' && s[j] != '\\' {
				j++
			}
			if j < len(s) && s[j] == '"' {
				if !fn(key, s[i+1:j]) {
					return
				}
				i = j + 1
				continue
			}
			val, n, ok := readQuoted(s[i+1:])
			if !ok {
				// Unterminated quote: take the rest of the line as the value.
				if !fn(key, s[i+1:]) {
					return
				}
				return
			}
			i += 1 + n
			if !fn(key, val) {
				return
			}
			continue
		}
		vs := i
		for i < len(s) && s[i] != sep {
			i++
		}
		if !fn(key, s[vs:i]) {
			return
		}
	}
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
