package refstore

import "testing"

func TestSegmentStripe(t *testing.T) {
	for seg := int64(0); seg < 1000; seg++ {
		if s := SegmentStripe(seg); s < 1 || s >= ChangeStripes {
			t.Fatalf("SegmentStripe(%d) = %d", seg, s)
		}
	}
}
