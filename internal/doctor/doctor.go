// Package doctor is what Meta's WADebug tool and GET /v1/support were for,
// as one set of checks an operator runs before calling for help: is the
// database reachable, of a supported version and migrated; are the data
// and media volumes writable with room left; does the TLS certificate
// still have time; does the webhook receiver answer over a certificate
// deliveries will trust; do this host's and the database's clocks agree;
// and, on the Cloud bridge, is the access token valid with the permissions
// the bridge needs. It runs against the configuration `wabiz serve` reads,
// without a running server, and changes nothing it checks.
package doctor

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
)

// Status is a check's verdict.
type Status string

// The verdicts, from best to worst. Skip is a check that does not apply
// (the Cloud token on the sandbox) or cannot run because one it depends on
// failed (the migrations when the database is unreachable).
const (
	OK   Status = "ok"
	Skip Status = "skip"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check names, in report order: they are the JSON form's keys and what a
// failing run names, so scripts may match on them.
const (
	CheckDatabase        = "database"
	CheckDatabaseVersion = "database_version"
	CheckMigrations      = "migrations"
	CheckClockSkew       = "clock_skew"
	CheckDataVolume      = "data_volume"
	CheckMediaVolume     = "media_volume"
	CheckCertificate     = "tls_certificate"
	CheckWebhook         = "webhook"
	CheckCloudToken      = "cloud_token"
)

// Result is one check's outcome.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Report is every check's outcome.
type Report struct {
	WabizVersion string    `json:"wabiz_version"`
	CheckedAt    time.Time `json:"checked_at"`
	Status       Status    `json:"status"` // the worst of the checks
	Failed       []string  `json:"failed"` // names of the failed checks, [] when none
	Checks       []Result  `json:"checks"`
}

// Space is what statfs says of a volume, in bytes.
type Space struct {
	Free  uint64 // available to an unprivileged writer
	Total uint64
}

// Options configure a run.
type Options struct {
	Config *config.Config
	// Store says where the database is (server.StoreConfig of Config).
	Store   store.Config
	Version string // wabiz's own version, for the report
	// Now is this host's clock; tests move it to make the database's
	// clock look skewed and certificates look old.
	Now func() time.Time
	// Statfs reads a volume's space (default: the statfs system call).
	Statfs func(path string) (Space, error)
	// Timeout bounds each network check: the webhook request, each Graph
	// call, opening the database (default 10 s).
	Timeout time.Duration
	// GraphClient makes the Cloud token's Graph calls (default: a client
	// with Timeout and the system roots).
	GraphClient *http.Client
}

// DefaultTimeout bounds each network check when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// run is the state the checks share: the database, once open, is used by
// the checks after it.
type run struct {
	o     Options
	store *store.Store // nil when the database could not be opened
	// schema is set when the database has the tables the checks after the
	// migrations read (settings, uploaded certificates).
	schema  bool
	results []Result
	// Collected for the support bundle.
	serverVersion string
	migrations    []store.AppliedMigration
	settings      *settings.Application // nil when they could not be read
	settingsErr   error
	// webhookRoots is the CA bundle uploaded through
	// /v1/certificates/webhooks/ca, nil for the system roots.
	webhookRoots *x509.CertPool
	// webhookCASkipped is why a stored bundle is not used (expired).
	webhookCASkipped error
}

// Diagnosis is a run's report and what a support bundle adds to it.
type Diagnosis struct {
	Report Report
	run    *run
}

// Run performs every check. It never changes what it checks, except that
// opening a PostgreSQL or MySQL database creates it when missing, as every
// wabiz command does.
func Run(ctx context.Context, o Options) *Diagnosis {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Statfs == nil {
		o.Statfs = statfs
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.GraphClient == nil {
		o.GraphClient = &http.Client{Timeout: o.Timeout}
	}
	r := &run{o: o}
	r.checkDatabase(ctx)
	r.checkVolume(CheckDataVolume, "data", o.Config.DataDir)
	r.checkVolume(CheckMediaVolume, "media", o.Config.MediaDir())
	r.checkCertificate(ctx)
	r.checkWebhook(ctx)
	r.checkCloudToken(ctx)
	if r.store != nil {
		r.store.Close()
		r.store = nil
	}
	return &Diagnosis{Report: r.report(), run: r}
}

func (r *run) add(name string, status Status, format string, args ...any) {
	r.results = append(r.results, Result{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)})
}

func (r *run) report() Report {
	rep := Report{WabizVersion: r.o.Version, CheckedAt: r.o.Now().UTC(), Status: OK, Failed: []string{}, Checks: r.results}
	for _, c := range r.results {
		if rank(c.Status) > rank(rep.Status) {
			rep.Status = c.Status
		}
		if c.Status == Fail {
			rep.Failed = append(rep.Failed, c.Name)
		}
	}
	if rep.Status == Skip {
		rep.Status = OK
	}
	return rep
}

func rank(s Status) int {
	switch s {
	case Fail:
		return 3
	case Warn:
		return 2
	case Skip:
		return 1
	}
	return 0
}

// Result returns the named check's result, and false when it did not run.
func (rep Report) Result(name string) (Result, bool) {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Result{}, false
}

// WriteText writes the readable form: one line per check, then a verdict.
func (rep Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "wabiz doctor (wabiz %s, %s)\n", rep.WabizVersion, rep.CheckedAt.Format(time.RFC3339))
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
	}
	for _, c := range rep.Checks {
		fmt.Fprintf(&b, "%-4s  %-*s  %s\n", c.Status, width, c.Name, c.Detail)
	}
	if len(rep.Failed) > 0 {
		fmt.Fprintf(&b, "FAILED: %s\n", strings.Join(rep.Failed, ", "))
	} else if rep.Status == Warn {
		b.WriteString("no check failed; see the warnings above\n")
	} else {
		b.WriteString("every check passed\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the JSON form.
func (rep Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
