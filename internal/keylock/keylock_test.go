package keylock

import (
	"sync"
	"testing"
)

// A key's holders run one at a time (run with -race: the counter is not atomic).
func TestOneHolderPerKey(t *testing.T) {
	var s Set
	var counts [2]int // one per key: only that key's lock guards it
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			unlock := s.LockString([]string{"acme", "other"}[i%2])
			counts[i%2]++
			unlock()
			unlock = s.Lock(int64(i % 3))
			unlock()
		})
	}
	wg.Wait()
	if counts != [2]int{100, 100} {
		t.Fatalf("counts %v", counts)
	}
}
