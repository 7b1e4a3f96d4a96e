package sqlstore

import (
	"testing"

	"github.com/refstore/refstore"
)

func TestChangeRoundTrip(t *testing.T) {
	for _, c := range []refstore.Change{
		{Kind: refstore.ChangeReset},
		{Kind: refstore.ChangeCatalog, Stripe: refstore.CatalogStripe, Epoch: 12},
		{Kind: refstore.ChangeSegment, Stripe: refstore.SegmentStripe(27665601), Epoch: 1 << 40, Account: "acme", Segment: 27665601},
		{Kind: refstore.ChangeSession, Stripe: refstore.CatalogStripe, Epoch: 3, Session: "ab12"},
	} {
		got, err := parseChange(encodeChange(c))
		if err != nil || got != c {
			t.Errorf("%+v → %q → %+v, %v", c, encodeChange(c), got, err)
		}
	}
	for _, bad := range []string{"", "1 2 3", "1 64 3 a 4 b", "x 1 1 a 1 b"} {
		if _, err := parseChange(bad); err == nil {
			t.Errorf("parseChange(%q) succeeded", bad)
		}
	}
}
