package bench

import (
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/store"
)

func TestDatabaseConfig(t *testing.T) {
	c, err := databaseConfig("", "/run")
	if err != nil || c.Engine != store.SQLite || !strings.HasSuffix(c.SQLitePath, "wabiz.db") {
		t.Fatalf("default: %+v %v", c, err)
	}
	c, err = databaseConfig("postgres://bench:pw@db.example:6543", "/run")
	if err != nil || c.Engine != store.Postgres || c.Host != "db.example" || c.Port != 6543 || c.User != "bench" || c.Password != "pw" ||
		!strings.HasPrefix(c.NamePrefix, "bench_") {
		t.Fatalf("postgres: %+v %v", c, err)
	}
	other, _ := databaseConfig("postgres://bench@db.example", "/run")
	if other.NamePrefix == c.NamePrefix {
		t.Fatal("two runs share a database name")
	}
	if c, err = databaseConfig("mysql://root@127.0.0.1:3306", "/run"); err != nil || c.Engine != store.MySQL || c.Port != 3306 {
		t.Fatalf("mysql: %+v %v", c, err)
	}
	for _, bad := range []string{"sqlite:///x", "postgres://h:notaport", "redis://h"} {
		if _, err := databaseConfig(bad, "/run"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
