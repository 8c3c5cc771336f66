package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of every delivery.
//
// The signature is "sha256=" and the hex HMAC-SHA256, keyed with the
// webhook's secret, of the timestamp header's value, a ".", and the body as
// sent (the exact bytes, before any JSON decoding). The timestamp is Unix
// seconds, fresh on every attempt, so a receiver can refuse replays older
// than a few minutes. The delivery id is "<webhook>:<fromSeq>-<toSeq>": the
// same on every attempt of a batch, across restarts too.
const (
	HeaderSignature = "X-Idpsync-Signature"
	HeaderTimestamp = "X-Idpsync-Timestamp"
	HeaderDelivery  = "X-Idpsync-Delivery"
)

// The errors Verify returns.
var (
	ErrSignature = errors.New("webhook signature does not match")
	ErrTimestamp = errors.New("webhook timestamp missing, malformed or outside the tolerance")
)

// Sign returns the X-Idpsync-Signature value of body sent at timestamp (the
// X-Idpsync-Timestamp value).
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery: header is its X-Idpsync-Signature, timestamp its
// X-Idpsync-Timestamp, body the raw request body. It returns ErrTimestamp
// when the timestamp is more than tolerance away from now (tolerance 0 skips
// that check, which lets a captured delivery be replayed), and ErrSignature
// when the signature is not the body's under secret. The comparison takes
// constant time.
func Verify(secret []byte, header, timestamp string, body []byte, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if tolerance > 0 {
		if d := time.Since(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
			return ErrTimestamp
		}
	}
	got, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return ErrSignature
	}
	mac, err := hex.DecodeString(got)
	if err != nil {
		return ErrSignature
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, timestamp, body), "sha256="))
	if !hmac.Equal(mac, want) {
		return ErrSignature
	}
	return nil
}
