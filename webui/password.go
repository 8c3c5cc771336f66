package webui

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// passwordChecker reports whether a password matches the configured hash.
type passwordChecker func(password string) bool

// parsePasswordHash reads [ui] password_hash: a bcrypt hash ("$2b$…") or an
// argon2id hash in the PHC string format
// ("$argon2id$v=19$m=65536,t=3,p=4$SALT$HASH", base64 without padding), as
// `htpasswd -B` and `argon2 -id -e` print them.
func parsePasswordHash(h string) (passwordChecker, error) {
	if strings.HasPrefix(h, "$argon2id$") {
		return parseArgon2id(h)
	}
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return nil, fmt.Errorf("not a bcrypt ($2b$…) or argon2id ($argon2id$…) hash: %w", err)
	}
	return func(pw string) bool {
		return bcrypt.CompareHashAndPassword([]byte(h), []byte(pw)) == nil
	}, nil
}

// Limits on argon2id parameters, so that a mistyped hash cannot make each
// sign-in take gigabytes or minutes.
const (
	maxArgonMemory = 1 << 20 // KiB: 1 GiB
	maxArgonTime   = 64
)

func parseArgon2id(h string) (passwordChecker, error) {
	parts := strings.Split(h, "$") // "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 {
		return nil, fmt.Errorf("argon2id hash: want $argon2id$v=19$m=…,t=…,p=…$SALT$HASH")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, fmt.Errorf("argon2id hash: version %q, want v=%d", parts[2], argon2.Version)
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return nil, fmt.Errorf("argon2id hash: parameters %q: %w", parts[3], err)
	}
	if memory == 0 || memory > maxArgonMemory || time == 0 || time > maxArgonTime || threads == 0 {
		return nil, fmt.Errorf("argon2id hash: parameters %q out of range (m ≤ %d KiB, t ≤ %d, p ≥ 1)", parts[3], maxArgonMemory, maxArgonTime)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return nil, fmt.Errorf("argon2id hash: salt: %w", err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("argon2id hash: the hash part is not base64 of at least 16 bytes")
	}
	return func(pw string) bool {
		got := argon2.IDKey([]byte(pw), salt, time, memory, threads, uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1
	}, nil
}
