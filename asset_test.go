package refstore

import (
	"testing"
	"time"
)

func TestTicksSpecExample(t *testing.T) {
	at, err := time.Parse(time.RFC3339Nano, "2025-07-27T15:58:33.8999983Z")
	if err != nil {
		t.Fatal(err)
	}
	const want = Ticks(638892287138999983)
	if got := TicksOf(at); got != want {
		t.Fatalf("TicksOf(%s) = %d, want %d", at, got, want)
	}
	if got := want.String(); got != "638892287138999983" {
		t.Errorf("String = %q", got)
	}
	if got := want.Time(); !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("Time() = %v, want %v in UTC", got, at)
	}
	if got := FormatDate(want.Time()); got != "2025-07-27T15:58:33.8999983Z" {
		t.Errorf("FormatDate = %q", got)
	}
}

func TestTicks(t *testing.T) {
	tests := []struct {
		at   time.Time
		want Ticks
	}{
		{time.Unix(0, 0), 621355968000000000},
		{time.Unix(0, 100), 621355968000000001},
		{time.Unix(1, 0), 621355968010000000},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 630822816000000000},
	}
	for _, tc := range tests {
		if got := TicksOf(tc.at); got != tc.want {
			t.Errorf("TicksOf(%v) = %d, want %d", tc.at, got, tc.want)
		}
		if got := tc.want.Time(); !got.Equal(tc.at) {
			t.Errorf("%d.Time() = %v, want %v", tc.want, got, tc.at)
		}
	}
	// Below 100 ns is truncated, so the round trip keeps 100 ns precision.
	at := time.Date(2025, 7, 27, 15, 58, 33, 899998399, time.UTC)
	if got := TicksOf(at).Time(); !got.Equal(at.Truncate(100)) {
		t.Errorf("round trip of %v = %v", at, got)
	}
	// The zone does not matter.
	paris := time.FixedZone("CEST", 2*3600)
	if TicksOf(at.In(paris)) != TicksOf(at) {
		t.Error("ticks depend on the time zone")
	}
	// Later is larger.
	if TicksOf(at.Add(100)) != TicksOf(at)+1 {
		t.Error("100 ns is not one tick")
	}
}

func TestFormatDate(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2025, 7, 27, 15, 58, 33, 0, time.UTC), "2025-07-27T15:58:33.0000000Z"},
		{time.Date(2025, 7, 27, 15, 58, 33, 100, time.UTC), "2025-07-27T15:58:33.0000001Z"},
		{time.Date(2025, 7, 27, 15, 58, 33, 500000000, time.UTC), "2025-07-27T15:58:33.5000000Z"},
		{time.Date(2025, 7, 27, 15, 58, 33, 468769800, time.UTC), "2025-07-27T15:58:33.4687698Z"},
		{time.Date(2025, 7, 27, 15, 58, 33, 999999999, time.UTC), "2025-07-27T15:58:33.9999999Z"}, // truncated
		{time.Date(2025, 7, 27, 17, 58, 33, 0, time.FixedZone("CEST", 2*3600)), "2025-07-27T15:58:33.0000000Z"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00.0000000Z"},
	}
	for _, tc := range tests {
		if got := FormatDate(tc.at); got != tc.want {
			t.Errorf("FormatDate(%v) = %q, want %q", tc.at, got, tc.want)
		}
	}
}

func TestAssetVersion(t *testing.T) {
	a := Asset{Created: 5, Modified: 638892287138999983}
	if a.Version() != 638892287138999983 {
		t.Errorf("Version = %d", a.Version())
	}
}
