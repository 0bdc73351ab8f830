package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/doctor"
	"github.com/wabiz/wabiz/internal/server"
)

// runDoctor is "wabiz doctor [--json] [--bundle FILE]": the checks of
// internal/doctor against the configuration serve would run with. The
// exit code is 1 when a check fails (the error names them), 0 otherwise,
// warnings included.
func runDoctor(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON instead of one line per check")
	bundle := fs.String("bundle", "", "also write a support bundle (tar.gz: report, configuration and settings with secrets removed, versions, migrations) to this file")
	timeout := fs.Duration("timeout", doctor.DefaultTimeout, "how long each network check (database, webhook, Graph API) may take")
	fs.SetOutput(e.stderr)
	c, effective, err := config.LoadEffective(fs, args, e.getenv)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("usage: wabiz doctor [--json] [--bundle FILE] [--timeout DURATION] [configuration flags]")
	}
	if *timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	d := doctor.Run(ctx, doctor.Options{Config: c, Store: server.StoreConfig(c), Version: buildVersion(), Timeout: *timeout})
	if *asJSON {
		err = d.Report.WriteJSON(e.stdout)
	} else {
		err = d.Report.WriteText(e.stdout)
	}
	if err != nil {
		return err
	}
	if *bundle != "" {
		if err := writeBundle(d, *bundle, effective); err != nil {
			return fmt.Errorf("support bundle: %w", err)
		}
		// On stderr: with --json, stdout holds the report alone.
		fmt.Fprintf(e.stderr, "support bundle written to %s\n", *bundle)
	}
	if len(d.Report.Failed) > 0 {
		return fmt.Errorf("failed: %s", strings.Join(d.Report.Failed, ", "))
	}
	return nil
}

func writeBundle(d *doctor.Diagnosis, path string, effective []config.Setting) error {
	// 0600: secrets are removed, but host names and settings are still the
	// operator's business.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := d.WriteBundle(f, effective); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
