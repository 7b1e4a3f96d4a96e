package service

import (
	"context"
	"fmt"
	"time"

	"github.com/refstore/refstore"
)

// RecoveryReport says what a recovery or an orphan sweep repaired.
type RecoveryReport struct {
	OrphanBlobs   int // bytes no metadata names (written just before a crash)
	Unreferenced  int // blobs whose last asset or upload went just before a crash
	StaleUploads  int // unfinished multipart uploads aborted
	Mirror        refstore.ReconcileReport
	MirrorChecked bool
	Duration      time.Duration
}

// Recover repairs what a crash can leave behind, before the service takes requests: bytes
// stored without their metadata (those written before orphansBefore), blobs nothing
// references any more, and a reference-material tree that is behind the metadata (when
// reconcile is set: only a process that owns the tree alone may rewrite it). Every step is
// idempotent.
func (s *Service) Recover(ctx context.Context, orphansBefore time.Time, reconcile bool) (RecoveryReport, error) {
	start := time.Now()
	r, err := s.sweepOrphans(ctx, orphansBefore)
	if err != nil {
		return r, err
	}
	if reconcile && s.mirror != nil {
		if r.Mirror, err = s.mirror.Reconcile(ctx, s.meta); err != nil {
			return r, fmt.Errorf("reconciling the reference-material tree: %w", err)
		}
		r.MirrorChecked = true
	}
	r.Duration = time.Since(start)
	return r, nil
}

// sweepOrphans deletes bytes that no metadata names and that were written before the given
// time, marks blobs nothing references as garbage (removing those past the grace period),
// and aborts unfinished uploads older than the orphan grace. Several nodes may run it at
// once: every deletion is idempotent.
func (s *Service) sweepOrphans(ctx context.Context, before time.Time) (RecoveryReport, error) {
	var r RecoveryReport
	err := s.blobs.Walk(ctx, func(ref refstore.BlobRef, mod time.Time) error {
		if !mod.Before(before) {
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
	// From here to the deletion of the bytes, nothing may cut it off (see RunSweepers).
	whole := context.WithoutCancel(ctx)
	refs, err := s.meta.CollectGarbage(whole, nil, s.now(), s.cfg.DeleteGrace)
	if err != nil {
		return r, fmt.Errorf("collecting unreferenced blobs: %w", err)
	}
	for _, ref := range refs {
		if err := s.blobs.Delete(whole, ref); err != nil {
			return r, err
		}
	}
	r.Unreferenced = len(refs)
	if a := s.blobCaps.StaleAborter; a != nil {
		if r.StaleUploads, err = a.AbortStaleUploads(ctx, before); err != nil {
			return r, fmt.Errorf("aborting stale uploads: %w", err)
		}
	}
	return r, nil
}

// SweepOrphans is the periodic form of the start-up repair, safe on every node at once: it
// leaves alone bytes younger than the orphan grace, which may belong to an upload another
// node is still committing.
func (s *Service) SweepOrphans(ctx context.Context) (RecoveryReport, error) {
	return s.sweepOrphans(ctx, s.now().Add(-s.cfg.OrphanGrace))
}

// SweepReport says what a sweep removed (refstore.SweepReport).
type SweepReport = refstore.SweepReport

// Sweep removes expired sessions and file tokens, the bytes that lost their last
// reference at least the delete grace ago, and audit rows past their retention. It is
// cheap, safe at any time, concurrently with traffic and on several nodes at once.
//
// It collects every unreferenced blob whose grace has passed, not only those of the file
// tokens it removes: the writes that unreference blobs mark them in their own transaction
// (see refstore.AssetStore.CollectGarbage), so what a crash or a stop left between a
// commit and its collection is collected here too.
func (s *Service) Sweep(ctx context.Context) (SweepReport, error) {
	var r SweepReport
	now := s.now()
	var err error
	// A session's recorded last use lags its real one by up to the touch interval: only
	// what is idle for longer than the lifetime plus that margin is surely expired.
	if r.Sessions, err = s.meta.DeleteSessionsIdleSince(ctx, now.Add(-s.cfg.TokenTTL-s.touchInterval())); err != nil {
		return r, err
	}
	expired, err := s.meta.DeleteExpiredUploads(ctx, now)
	if err != nil {
		return r, err
	}
	r.Uploads = len(expired)
	r.Blobs = s.collect(ctx)
	if s.cfg.AuditRetention > 0 {
		if r.AuditRows, err = s.meta.PruneAudit(ctx, now.Add(-s.cfg.AuditRetention)); err != nil {
			return r, fmt.Errorf("pruning the audit log: %w", err)
		}
	}
	if r.Deliveries, err = s.meta.PruneDeliveries(ctx, now.Add(-s.cfg.WebhookRetention)); err != nil {
		return r, fmt.Errorf("pruning webhook deliveries: %w", err)
	}
	return r, s.limits.Prune(ctx)
}

// RunSweepers sweeps every interval, and sweeps orphans every orphanInterval, until ctx
// ends. A sweep under way when ctx ends runs to its end (the stores close after it): cut
// between its deletion of metadata and that of the bytes, it would leave bytes that only
// the orphan sweep finds.
func (s *Service) RunSweepers(ctx context.Context, interval, orphanInterval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	o := time.NewTicker(orphanInterval)
	defer o.Stop()
	whole := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Sweep(whole); err != nil {
				s.log.Warn("sweep failed", "err", err)
			}
		case <-o.C:
			// Its walk over every blob may be cut off; its collection is not.
			r, err := s.SweepOrphans(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("orphan sweep failed", "err", err)
			} else if r.OrphanBlobs+r.Unreferenced+r.StaleUploads > 0 {
				s.log.Info("orphan sweep", "orphan_blobs", r.OrphanBlobs, "unreferenced_blobs", r.Unreferenced,
					"stale_uploads", r.StaleUploads)
			}
		}
	}
}
