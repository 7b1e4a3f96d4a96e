package service

import (
	"context"
	"fmt"
	"time"

	"github.com/refstore/refstore"
)

// RecoveryReport says what Recover repaired.
type RecoveryReport struct {
	OrphanBlobs  int // bytes no metadata names (written just before a crash)
	Unreferenced int // blobs whose last asset or upload went just before a crash
	Mirror       refstore.ReconcileReport
	Duration     time.Duration
}

// Recover repairs what a crash can leave behind, before the service takes requests: bytes
// stored without their metadata, blobs nothing references any more, and a
// reference-material tree that is behind the metadata. Every step is idempotent.
func (s *Service) Recover(ctx context.Context, orphansBefore time.Time) (RecoveryReport, error) {
	start := time.Now()
	var r RecoveryReport
	err := s.blobs.Walk(ctx, func(ref refstore.BlobRef, mod time.Time) error {
		if !mod.Before(orphansBefore) {
			return nil
		}
		known, err := s.meta.BlobKnown(ctx, ref)
		if err != nil || known {
			return err
		}
		r.OrphanBlobs++
		return s.blobs.Delete(ctx, ref)
	})
	if err != nil {
		return r, fmt.Errorf("sweeping orphan blobs: %w", err)
	}
	refs, err := s.meta.CollectGarbage(ctx, nil)
	if err != nil {
		return r, fmt.Errorf("collecting unreferenced blobs: %w", err)
	}
	for _, ref := range refs {
		if err := s.blobs.Delete(ctx, ref); err != nil {
			return r, err
		}
	}
	r.Unreferenced = len(refs)
	if s.mirror != nil {
		if r.Mirror, err = s.mirror.Reconcile(ctx, s.meta); err != nil {
			return r, fmt.Errorf("reconciling the reference-material tree: %w", err)
		}
	}
	r.Duration = time.Since(start)
	return r, nil
}

// Sweep removes expired sessions and file tokens, and the bytes of uploads that were never
// attached. It is safe to run at any time, concurrently with traffic.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	if _, err := s.meta.DeleteSessionsIdleSince(ctx, now.Add(-s.cfg.TokenTTL)); err != nil {
		return err
	}
	expired, err := s.meta.DeleteExpiredUploads(ctx, now)
	if err != nil {
		return err
	}
	if len(expired) > 0 {
		s.collect(ctx, expired)
	}
	return nil
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("sweep failed", "err", err)
			}
		}
	}
}
