// Package keylock gives every key a mutex of a fixed set, shared by the keys whose hash
// falls on it: one lock per key without a map that grows with the keys. Two keys may wait
// for each other; one key never runs unlocked.
package keylock

import (
	"hash/maphash"
	"sync"
)

// Set is a set of key locks; its zero value is ready to use.
type Set struct {
	mu [64]sync.Mutex
}

var seed = maphash.MakeSeed()

// Lock locks the mutex of an integer key (a segment id) and returns its unlock.
func (s *Set) Lock(key int64) (unlock func()) {
	return s.at(uint64(key))
}

// LockString locks the mutex of a string key (an account id) and returns its unlock.
func (s *Set) LockString(key string) (unlock func()) {
	return s.at(maphash.String(seed, key))
}

func (s *Set) at(h uint64) func() {
	mu := &s.mu[h%uint64(len(s.mu))]
	mu.Lock()
	return mu.Unlock
}
