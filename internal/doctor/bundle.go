package doctor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"runtime"

	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/store"
)

// bundleDir is the one directory a support bundle unpacks into.
const bundleDir = "wabiz-support/"

// recentMigrations is how many schema_migrations rows a bundle holds.
const recentMigrations = 20

// versions is the bundle's versions.json.
type versions struct {
	Wabiz          string `json:"wabiz"`
	APIVersion     string `json:"api_version"`
	Go             string `json:"go"`
	OS             string `json:"os"`
	Arch           string `json:"arch"`
	Network        string `json:"network"`
	Role           string `json:"role"`
	DBEngine       string `json:"db_engine"`
	DBServer       string `json:"db_server,omitempty"`
	SchemaExpected int    `json:"schema_expected"`
	SchemaCurrent  int    `json:"schema_current"`
}

// WriteBundle writes a support bundle (tar.gz) of the report, the
// effective configuration (LoadEffective's listing, secrets already
// hidden), versions, the recent schema migrations and the application
// settings with the webhook URL's credentials removed. Every file is also
// scrubbed of every secret value the run knows, in case an error message
// quoted one.
func (d *Diagnosis) WriteBundle(w io.Writer, effective []config.Setting) error {
	r := d.run
	var text bytes.Buffer
	if err := d.Report.WriteText(&text); err != nil {
		return err
	}
	v := versions{
		Wabiz: r.o.Version, APIVersion: r.o.Config.APIVersion, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		Network: r.o.Config.Network, Role: r.o.Config.Role, DBEngine: string(r.o.Store.Engine), DBServer: r.serverVersion,
		SchemaExpected: store.LatestVersion(),
	}
	if len(r.migrations) > 0 {
		v.SchemaCurrent = r.migrations[0].Version
	}
	migrations := r.migrations
	if len(migrations) > recentMigrations {
		migrations = migrations[:recentMigrations]
	}
	if migrations == nil {
		migrations = []store.AppliedMigration{}
	}
	if effective == nil {
		effective = []config.Setting{}
	}
	files := []struct {
		name  string
		value any
	}{
		{"report.json", d.Report},
		{"config.json", effective},
		{"versions.json", v},
		{"migrations.json", migrations},
	}
	if r.settings != nil {
		app := r.settings.Clone()
		if app.Webhooks.URL != "" {
			app.Webhooks.URL = redactURL(app.Webhooks.URL)
		}
		files = append(files, struct {
			name  string
			value any
		}{"settings.json", app})
	}

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	add := func(name string, data []byte) error {
		data = []byte(r.scrub(string(data)))
		hdr := &tar.Header{Name: bundleDir + name, Mode: 0o600, Size: int64(len(data)), ModTime: r.o.Now(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add("report.txt", text.Bytes()); err != nil {
		return err
	}
	for _, f := range files {
		data, err := json.MarshalIndent(f.value, "", "  ")
		if err != nil {
			return err
		}
		if err := add(f.name, append(data, '\n')); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
