package ftp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters: the OWASP minimum (m = 19 MiB, t = 2, p = 1).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16

	// Upper bounds for hashes read from the configuration, so that a hostile or
	// mistyped hash cannot make every login allocate gigabytes.
	maxArgonMemory  = 1024 * 1024 // KiB (1 GiB)
	maxArgonTime    = 16
	maxArgonThreads = 16
)

// dummyHash is verified when the user name is unknown, so that a failed login
// costs the same whether or not the account exists.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$nGadiMy8DU4vAJXL55W4uw$RERm171j9eVa+ARxPUB5LggN60GNv8iSr2RBKtaSP88"

var errBadHash = errors.New("password hash must be argon2id ($argon2id$v=19$m=...,t=...,p=...$salt$key) or bcrypt ($2a$/$2b$/$2y$)")

// HashPassword returns an Argon2id hash of pw in PHC string format, the form
// Account.PasswordHash expects.
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("empty password")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches hash (Argon2id PHC string or bcrypt).
// The comparison is constant-time; a malformed hash never matches.
func CheckPassword(hash, pw string) bool {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		p, err := parseArgon2id(hash)
		if err != nil {
			return false
		}
		key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
		return subtle.ConstantTimeCompare(key, p.key) == 1
	case isBcrypt(hash):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
	default:
		return false
	}
}

// validateHash refuses anything that is not a well-formed supported hash, in
// particular a plaintext password pasted into the configuration.
func validateHash(hash string) error {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		if _, err := parseArgon2id(hash); err != nil {
			return err
		}
		return nil
	case isBcrypt(hash):
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("bcrypt hash: %w", err)
		}
		return nil
	default:
		return errBadHash
	}
}

func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
}

type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func parseArgon2id(hash string) (argonParams, error) {
	var p argonParams
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, fmt.Errorf("argon2id: unsupported version %q: %w", parts[2], errBadHash)
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil {
		return p, fmt.Errorf("argon2id: bad parameters %q: %w", parts[3], errBadHash)
	}
	if p.memory < 8 || p.memory > maxArgonMemory || p.time < 1 || p.time > maxArgonTime ||
		threads < 1 || threads > maxArgonThreads {
		return p, fmt.Errorf("argon2id: parameters out of range %q: %w", parts[3], errBadHash)
	}
	p.threads = uint8(threads)
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return p, fmt.Errorf("argon2id: bad salt: %w", errBadHash)
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return p, fmt.Errorf("argon2id: bad key: %w", errBadHash)
	}
	return p, nil
}
