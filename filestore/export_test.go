package filestore

// SimulateCrash releases the data directory the way a killed process does: the lock and
// the root go, the unclean marker stays where Close would have removed it.
func SimulateCrash(s *Store) {
	if s.tmpLock != nil {
		s.tmpLock.Close()
	}
	s.lock.Close()
	s.root.Close()
}
