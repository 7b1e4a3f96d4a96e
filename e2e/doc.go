// Package e2e tests refstore end to end: every test talks HTTP to real refstore server
// processes built from ./cmd/refstore, on real storage. The same tests run against each
// backend configuration (see backends in cluster_test.go). It holds only tests.
package e2e
