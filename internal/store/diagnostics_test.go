package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func TestAppliedMigrations(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		t.Parallel()
		ctx := context.Background()
		// Before any migration there is no schema_migrations table.
		empty, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := empty.AppliedMigrations(ctx)
		empty.Close()
		if err != nil || len(got) != 0 {
			t.Fatalf("unmigrated: %v, %v", got, err)
		}
		s := storetest.OpenConfig(t, cfg)
		got, err = s.AppliedMigrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != store.LatestVersion() || got[0].Version != store.LatestVersion() || got[len(got)-1].Version != 1 {
			t.Fatalf("got %d migrations, newest %+v", len(got), got[0])
		}
		if got[0].Name == "" || time.Since(got[0].AppliedAt) > 365*24*time.Hour || got[0].AppliedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("newest migration %+v: want a name and a recent time", got[0])
		}
	})
}

func TestDatabaseTime(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		t.Parallel()
		s := storetest.OpenConfig(t, cfg)
		before := time.Now()
		got, err := s.DatabaseTime(context.Background())
		after := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		// The test's database servers run on this machine's clock.
		if got.Before(before.Add(-time.Second)) || got.After(after.Add(time.Second)) {
			t.Errorf("database time %s, host %s .. %s", got, before, after)
		}
	})
}
