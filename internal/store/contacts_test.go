package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestContactFirstSeenNeverMoves: whichever way wabiz first knows a user (a
// valid check, a message from them, a conversation a message to them
// opened), that moment stays their first sight; later sightings change
// only what they are about.
func TestContactFirstSeenNeverMoves(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		s := storetest.OpenConfig(t, cfg)
		ctx := context.Background()
		const checked, wrote, messaged = "15550001001", "15550001002", "15550001003"
		later := t0.Add(time.Hour)
		conversations := 0
		newID := func() string { conversations++; return fmt.Sprint("conv-", conversations) }

		if err := s.NoteContact(ctx, checked, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchContact(ctx, wrote, "Ann", t0, t0); err != nil {
			t.Fatal(err)
		}
		if _, opened, err := s.OpenConversation(ctx, messaged, "utility", t0, 24*time.Hour, newID); err != nil || !opened {
			t.Fatalf("open: %v %v", opened, err)
		}
		for _, waID := range []string{checked, wrote, messaged} {
			if err := s.NoteContact(ctx, waID, later); err != nil {
				t.Fatal(err)
			}
			if err := s.TouchContact(ctx, waID, "Later name", later, later); err != nil {
				t.Fatal(err)
			}
			if _, opened, err := s.OpenConversation(ctx, waID, "marketing", later, 24*time.Hour, newID); err != nil || !opened {
				t.Fatalf("open later: %v %v", opened, err)
			}
			c, err := s.GetContact(ctx, waID)
			if err != nil || !c.FirstSeenAt.Equal(t0) || c.ProfileName != "Later name" || !c.LastInboundAt.Equal(later) {
				t.Fatalf("%s: %+v %v, want first seen %s", waID, c, err, t0)
			}
		}
		if _, err := s.GetContact(ctx, "15550001004"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a stranger: %v", err)
		}
	})
}

// TestMigrationDatesEarlierContacts: schema version 10 makes every user an
// earlier version knew a contact, dated by the oldest trace left of them:
// the last time they wrote, their first conversation, a valid check. A
// number a check found invalid stays unknown. A column added already (by an
// attempt MySQL half committed) is kept.
func TestMigrationDatesEarlierContacts(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.MigrateTo(ctx, 9); err != nil {
			t.Fatal(err)
		}
		at := func(hours int) int64 { return t0.Add(time.Duration(hours) * time.Hour).UnixMilli() }
		const wrote, wroteLongAgo, messaged, checked, invalid = "15550002001", "15550002002", "15550002003", "15550002004", "15550002005"
		for _, row := range []struct {
			query string
			args  []any
		}{
			{`INSERT INTO contacts (wa_id, profile_name, last_inbound_at, updated_at) VALUES (?, 'Ann', ?, ?)`, []any{wrote, at(3), at(3)}},
			{`INSERT INTO contacts (wa_id, profile_name, last_inbound_at, updated_at) VALUES (?, 'Bob', ?, ?)`, []any{wroteLongAgo, at(5), at(6)}},
			{`INSERT INTO conversations (id, wa_id, origin, started_at, expires_at) VALUES ('c1', ?, 'service', ?, ?)`, []any{messaged, at(4), at(28)}},
			{`INSERT INTO conversations (id, wa_id, origin, started_at, expires_at) VALUES ('c2', ?, 'utility', ?, ?)`, []any{messaged, at(2), at(26)}},
			{`INSERT INTO conversations (id, wa_id, origin, started_at, expires_at) VALUES ('c3', ?, 'utility', ?, ?)`, []any{wrote, at(0), at(24)}},
			{`INSERT INTO contact_checks (number, status, wa_id, checked_at) VALUES (?, 'valid', ?, ?)`, []any{checked, checked, at(7)}},
			{`INSERT INTO contact_checks (number, status, wa_id, checked_at) VALUES (?, 'valid', ?, ?)`, []any{messaged, messaged, at(1)}},
			{`INSERT INTO contact_checks (number, status, wa_id, checked_at) VALUES (?, 'invalid', '', ?)`, []any{invalid, at(7)}},
		} {
			if err := s.ExecRaw(ctx, row.query, row.args...); err != nil {
				t.Fatalf("%s: %v", row.query, err)
			}
		}
		// As if a first attempt had died after MySQL committed the ALTER.
		if err := s.ExecRaw(ctx, `ALTER TABLE contacts ADD COLUMN first_seen_at BIGINT NOT NULL DEFAULT 0`); err != nil {
			t.Fatal(err)
		}
		if applied, err := s.Migrate(ctx); err != nil || len(applied) == 0 || applied[0] != 10 {
			t.Fatalf("migrate: %v %v", applied, err)
		}
		for waID, want := range map[string]int64{wrote: at(0), wroteLongAgo: at(5), messaged: at(1), checked: at(7)} {
			c, err := s.GetContact(ctx, waID)
			if err != nil || c.FirstSeenAt.UnixMilli() != want {
				t.Errorf("%s: first seen %d (%v), want %d", waID, c.FirstSeenAt.UnixMilli(), err, want)
			}
		}
		if _, err := s.GetContact(ctx, invalid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the invalid number became a contact: %v", err)
		}
	})
}
