package refstore

import "testing"

func TestChangeRoundTrip(t *testing.T) {
	for _, c := range []Change{
		{Kind: ChangeReset},
		{Kind: ChangeCatalog, Stripe: CatalogStripe, Epoch: 12},
		{Kind: ChangeSegment, Stripe: SegmentStripe(27665601), Epoch: 1 << 40, Account: "acme", Segment: 27665601},
		{Kind: ChangeSession, Stripe: CatalogStripe, Epoch: 3, Session: "ab12"},
	} {
		got, err := ParseChange(c.String())
		if err != nil || got != c {
			t.Errorf("%+v → %q → %+v, %v", c, c.String(), got, err)
		}
	}
	for _, bad := range []string{"", "1 2 3", "1 64 3 a 4 b", "x 1 1 a 1 b"} {
		if _, err := ParseChange(bad); err == nil {
			t.Errorf("ParseChange(%q) succeeded", bad)
		}
	}
	for seg := int64(0); seg < 1000; seg++ {
		if s := SegmentStripe(seg); s < 1 || s >= ChangeStripes {
			t.Fatalf("SegmentStripe(%d) = %d", seg, s)
		}
	}
}
