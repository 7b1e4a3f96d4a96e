// Package webhook delivers an account's events to its endpoints: signed as Standard
// Webhooks, through a client that cannot be aimed at internal networks, retried with
// exponential backoff and jitter for a day, from an outbox that the mutations fill in their
// own transactions (refstore.WebhookStore).
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// secretPrefix marks a Standard Webhooks signing secret: the rest is the key in base64.
const secretPrefix = "whsec_"

// NewSecret draws a signing secret: 32 random bytes, as Standard Webhooks libraries
// expect them ("whsec_" + base64).
func NewSecret() string {
	key := make([]byte, 32)
	rand.Read(key)
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// secretKey decodes a secret into its HMAC key.
func secretKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, errors.New("a webhook secret starts with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, errors.New("a webhook secret is whsec_ followed by 24 to 64 bytes in base64")
	}
	return key, nil
}

// Sign returns the webhook-signature header of a message: "v1," and the base64 HMAC-SHA256
// of "{id}.{timestamp}.{body}" under the secret's key (Standard Webhooks, version 1).
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, ts.Unix(), body)), nil
}

func mac(key []byte, id string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "%s.%d.", id, unix)
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received message the way a receiver should: the signature header may
// list several space-separated signatures (during a secret rotation), one must match, and
// the timestamp must be within tolerance of now (replayed messages are refused).
func Verify(secret, id, timestamp, signatures string, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	unix, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not a Unix time in seconds")
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook-timestamp is too far from now")
	}
	want := mac(key, id, unix, body)
	for _, sig := range strings.Fields(signatures) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && subtle.ConstantTimeCompare(got, want) == 1 {
			return nil
		}
	}
	return errors.New("no webhook-signature matches")
}
