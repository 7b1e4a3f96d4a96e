package refstore

// SweepReport says what one sweep removed: what expired, and the bytes that lost their last
// reference at least the delete grace ago.
type SweepReport struct {
	Sessions   int64 // sessions idle past their lifetime
	Uploads    int   // file tokens that expired
	Blobs      int   // blobs deleted
	AuditRows  int64 // audit rows past their retention
	Deliveries int64 // webhook deliveries past their retention
}
