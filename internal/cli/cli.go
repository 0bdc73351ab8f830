// Package cli holds wabiz's subcommands. The server's wiring lives in one
// place, serve.go.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/server"
	"github.com/wabiz/wabiz/internal/store"
)

// Version is the wabiz build version, set at link time
// (-ldflags "-X github.com/wabiz/wabiz/internal/cli.Version=v1.2.3").
var Version = ""

// env is what a subcommand runs with; tests pass their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server (all roles, one process)", runServe},
		{"migrate", "create or upgrade the database schema, then exit", runMigrate},
		{"user", "manage API users: create, passwd, delete, list", runUser},
		{"sandbox", "drive the sandbox network: registration, simulated users, the world", runSandbox},
		{"backup", "write an encrypted backup of the configuration; restore reads it back", runBackup},
		{"restore", "restore a backup made by 'wabiz backup' or POST /v1/settings/backup", runRestore},
		{"doctor", "check the database, volumes, certificate, webhook, clocks and Cloud token; --bundle for support", runDoctor},
		{"health", "probe this node's own listener (GET /v1/health); exit 0 when it answers", runHealth},
		{"version", "print the wabiz version and the API version it reports", runVersion},
	}
}

// Run executes one subcommand and returns the process exit code.
func Run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, e, args[1:])
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		// SIGINT or SIGTERM during start-up cancels whatever step was
		// running: that is a requested stop, not a failure.
		if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "wabiz %s: stopped by a signal during start-up\n", c.name)
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "wabiz %s: %v\n", c.name, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "wabiz: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wabiz <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes the configuration flags; see 'wabiz serve -h' and docs/configuration.md.")
}

// loadConfig parses the configuration flags (and any the command registered
// on fs first) from args.
func loadConfig(e env, name string, args []string, fs *flag.FlagSet) (*config.Config, error) {
	if fs == nil {
		fs = flag.NewFlagSet(name, flag.ContinueOnError)
	}
	fs.SetOutput(e.stderr)
	return config.Load(fs, args, e.getenv)
}

func buildVersion() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}

func runVersion(ctx context.Context, e env, args []string) error {
	c, err := loadConfig(e, "version", args, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wabiz %s (On-Premises API %s)\n", buildVersion(), c.APIVersion)
	return nil
}

func runMigrate(ctx context.Context, e env, args []string) error {
	c, err := loadConfig(e, "migrate", args, nil)
	if err != nil {
		return err
	}
	s, applied, err := server.OpenStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	if len(applied) == 0 {
		fmt.Fprintf(e.stdout, "%s database %s is at schema version %d: nothing to do\n", s.Dialect(), s.Name(), store.LatestVersion())
		return nil
	}
	fmt.Fprintf(e.stdout, "%s database %s: applied schema versions %v; now at %d\n", s.Dialect(), s.Name(), applied, store.LatestVersion())
	return nil
}
