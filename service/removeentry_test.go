package service

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/refstore/refstore"
)

// failingReads is a metadata store whose scope and segment lookups fail as a database
// that is down does.
type failingReads struct{ refstore.MetaStore }

var errDown = &refstore.Error{Code: refstore.CodeUnavailable, Message: "The metadata store is unavailable.",
	Err: errors.New("connection refused")}

func (failingReads) Access(context.Context, refstore.Principal, refstore.Scope) (refstore.Access, error) {
	return refstore.Access{}, errDown
}

func (failingReads) Segment(context.Context, string, int64) (refstore.SegmentRef, error) {
	return refstore.SegmentRef{}, errDown
}

// Removing a document or a segment looks it up first: an unknown one is a 404, but a
// failing database is that failure, not a 404 (which would tell the operator the entry is
// not there).
func TestRemoveEntryKeepsStoreFailures(t *testing.T) {
	st := openSweepStores(t)
	s := New(st.meta, st.blobs, Config{}, slog.New(slog.DiscardHandler))
	for _, kind := range []refstore.EntryKind{refstore.EntryDocument, refstore.EntrySegment} {
		err := s.RemoveEntry(t.Context(), refstore.Entry{Kind: kind, Account: "acme", ID: 999})
		if got := refstore.ErrorCode(err); got != refstore.CodeNotFound {
			t.Fatalf("removing unknown entry kind %d: %v (code %q), want not_found", kind, err, got)
		}
	}
	s = New(failingReads{st.meta}, st.blobs, Config{}, slog.New(slog.DiscardHandler))
	for _, kind := range []refstore.EntryKind{refstore.EntryDocument, refstore.EntrySegment} {
		err := s.RemoveEntry(t.Context(), refstore.Entry{Kind: kind, Account: "acme", ID: 999})
		if got := refstore.ErrorCode(err); got != refstore.CodeUnavailable {
			t.Fatalf("removing entry kind %d with the database down: %v (code %q), want unavailable", kind, err, got)
		}
	}
}
