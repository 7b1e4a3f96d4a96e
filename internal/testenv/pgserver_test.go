package testenv

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// TestPGServerRestart checks the private server the fault tests restart: it serves, stops
// (connections fail at once rather than hang) and comes back with its data.
func TestPGServerRestart(t *testing.T) {
	pg := StartPostgres(t)
	db, err := sql.Open("pgx", pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('before the restart')"); err != nil {
		t.Fatal(err)
	}

	pg.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("the server still answers after Stop")
	} else if ctx.Err() != nil {
		t.Fatal("a ping of the stopped server hung")
	}
	pg.Stop() // idempotent

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if err := pg.Start(); err == nil {
		t.Error("starting a running server succeeded")
	}
	var v string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err = db.QueryRow("SELECT v FROM kept").Scan(&v)
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || v != "before the restart" {
		t.Fatalf("after the restart: %q, %v", v, err)
	}

	// More databases on the same server, each empty.
	other, err := sql.Open("pgx", pg.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.QueryRow("SELECT v FROM kept").Scan(&v); err == nil {
		t.Fatal("a new database sees another's table")
	}
}
