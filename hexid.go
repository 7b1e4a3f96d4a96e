package refstore

import (
	"crypto/rand"
	"encoding/hex"
)

// A hex id is 128 random bits written as 32 lower-case hex characters: blob keys and file
// tokens are hex ids. They never repeat, and are safe in paths, object names and URLs.

// NewHexID draws a new hex id.
func NewHexID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidHexID reports whether s has the form of a hex id: what a store or a route accepts
// as a key or a token, so that nothing else can reach a path or a query.
func ValidHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
