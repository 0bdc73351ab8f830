package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/backup"
	"github.com/wabiz/wabiz/internal/server"
	"github.com/wabiz/wabiz/internal/settings"
)

// runBackup is "wabiz backup --password-file F --out FILE": the same blob
// POST /v1/settings/backup returns, made straight from the database (no
// server needed).
func runBackup(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	passwordFile := fs.String("password-file", "", "file holding the backup password (required)")
	out := fs.String("out", "", "write the backup (base64) to this file (required)")
	c, err := loadConfig(e, "backup", args, fs)
	if err != nil {
		return err
	}
	if *passwordFile == "" || *out == "" || fs.NArg() != 0 {
		return errors.New("usage: wabiz backup --password-file FILE --out FILE")
	}
	password, err := readPasswordFile(*passwordFile)
	if err != nil {
		return err
	}
	s, _, err := server.OpenStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	data, err := backup.New(backup.Options{Store: s}).Backup(ctx, password)
	if err != nil {
		return err
	}
	// 0600: the blob is encrypted, but no reason to hand it to everyone.
	if err := os.WriteFile(*out, []byte(data+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backup written to %s\n", *out)
	return nil
}

// runRestore is "wabiz restore --password-file F FILE". Run it with the
// server stopped: a running server would not notice until restarted.
func runRestore(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	passwordFile := fs.String("password-file", "", "file holding the backup password (required)")
	c, err := loadConfig(e, "restore", args, fs)
	if err != nil {
		return err
	}
	if *passwordFile == "" || fs.NArg() != 1 {
		return errors.New("usage: wabiz restore --password-file FILE BACKUP-FILE")
	}
	password, err := readPasswordFile(*passwordFile)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	s, _, err := server.OpenStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	svc := backup.New(backup.Options{Store: s, SettingsRules: settings.PatchRules{AllowHTTPWebhook: c.WebhookAllowHTTP}})
	if err := svc.Restore(ctx, password, strings.TrimSpace(string(data))); err != nil {
		var apiErr *apierr.Error
		if errors.As(err, &apiErr) && len(apiErr.Details) > 0 {
			return errors.New(apiErr.Details[0].Details)
		}
		return err
	}
	fmt.Fprintln(e.stdout, "restored; start (or restart) the server to use it")
	return nil
}

// readPasswordFile reads a password, dropping the trailing newline editors
// add.
func readPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	p := strings.TrimRight(string(b), "\r\n")
	if p == "" {
		return "", fmt.Errorf("%s: the password is empty", path)
	}
	return p, nil
}
