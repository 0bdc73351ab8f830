package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/client"
	"github.com/wabiz/wabiz/internal/config"
)

// The sandbox command drives a running server's sandbox network through its
// API (internal/client), never through the database: it works against a
// server on another machine, and it exercises what scripts and CI use.

const sandboxUsage = `usage: wabiz sandbox [connection flags] <command> [flags] [arguments]

Drives the sandbox network of a running wabiz server, as an admin user.

The business number:
  register --cc CC --phone NUMBER --vname NAME [--method sms|voice]
                    the whole registration: certificate, POST /v1/account,
                    the code, POST /v1/account/verify
  cert --cc CC --phone NUMBER --vname NAME
                    issue a certificate, for a POST /v1/account of your own
  code              show the registration code the sandbox "sent"
  verify CODE       complete the registration (POST /v1/account/verify)

Simulated users:
  send WA_ID TEXT...
                    the user writes TEXT to the business; prints the message id
  users             list the users the sandbox has met
  user WA_ID [--name NAME] [--online=BOOL] [--auto-read-ms N] [--blocked=BOOL] [--whatsapp=BOOL]
                    show a user, or change only the settings given
                    (--auto-read-ms: -1 never reads, 0 follows the world)
  messages WA_ID    what the user's phone shows: messages received (with
                    their status) and sent (read by the business or not)
  read WA_ID MESSAGE_ID
                    the user reads a message from the business
  change-number WA_ID NEW_WA_ID
                    the user moves to a new number; the business is told
  identity WA_ID    the user's identity changes (a new phone); the business
                    is told when show_security_notifications is on

Message templates (the catalogue WhatsApp Manager would hold; a send made
after a command has returned sees its change):
  templates         list the templates and the sandbox's namespace
  templates add FILE
                    add the definitions in FILE (JSON in Meta's shape: one
                    definition, an array, or {"templates": [...]}): all or
                    none
  templates status NAME LANGUAGE STATUS
                    set a template's status (APPROVED, PAUSED, DISABLED, ...)
  templates delete NAME LANGUAGE
                    remove a template

The world (the rules users follow unless set otherwise):
  world [--non-whatsapp-pattern RE] [--non-whatsapp LIST] [--delivery-delay-ms N]
        [--read-delay-ms N] [--auto-read=BOOL] [--code-ttl-seconds N]
        [--connection-down=BOOL]
                    show the rules, or change only the ones given
                    (--connection-down=true cuts the server's connection)

Boolean flags take their value with '=': --online=false.
The password never has to be on the command line, where other users of the
machine can see it: set WABIZ_PASSWORD or use --password-file (or a token
from an earlier login in WABIZ_TOKEN). Use 'wabiz sandbox <command> -h' for
a command's flags.

Connection flags (before or after the command):`

// sandboxConn is how to reach and authenticate to the server.
type sandboxConn struct {
	url, user, password, passwordFile, token string
	cacert, dataDir                          string
	insecure, json                           bool
}

func newSandboxConn(getenv func(string) string) *sandboxConn {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	return &sandboxConn{
		url:     or("WABIZ_URL", "https://localhost:9090"),
		user:    or("WABIZ_USER", "admin"),
		dataDir: or("WABIZ_DATA_DIR", config.Default().DataDir),
	}
}

// register declares the connection flags on fs, with the current values as
// defaults: flags given before the command carry over to the command's set.
func (o *sandboxConn) register(fs *flag.FlagSet) {
	fs.StringVar(&o.url, "url", o.url, "server URL [$WABIZ_URL]")
	fs.StringVar(&o.user, "user", o.user, "user to log in as [$WABIZ_USER]")
	fs.StringVar(&o.passwordFile, "password-file", o.passwordFile, "read the password from the first line of this file, '-' for standard input [$WABIZ_PASSWORD_FILE]")
	fs.StringVar(&o.password, "password", o.password, "the password [$WABIZ_PASSWORD]; on the command line it shows in the process list: prefer the variable or --password-file")
	fs.StringVar(&o.token, "token", o.token, "use this token instead of logging in [$WABIZ_TOKEN]")
	fs.StringVar(&o.cacert, "cacert", o.cacert, "trust this CA certificate (PEM); default <data-dir>/tls/ca.pem when that file exists, else the system's CAs")
	fs.StringVar(&o.dataDir, "data-dir", o.dataDir, "the server's data directory, to find its self-signed CA [$WABIZ_DATA_DIR]")
	fs.BoolVar(&o.insecure, "insecure", o.insecure, "do not verify the server's certificate (like curl -k): anyone on the network path can then read the password and messages; only for a test server on a network you trust")
	fs.BoolVar(&o.json, "json", o.json, "print the server's raw JSON answers instead of text")
}

// sandboxCommand is one subcommand. setup declares its flags on fs and
// returns the function that runs it.
type sandboxCommand struct {
	name, args       string
	minArgs, maxArgs int // maxArgs -1: any number
	setup            func(fs *flag.FlagSet) sandboxRun
}

func sandboxCommands() []sandboxCommand {
	return []sandboxCommand{
		{"register", "--cc CC --phone NUMBER --vname NAME [--method sms|voice]", 0, 0, setupRegister},
		{"cert", "--cc CC --phone NUMBER --vname NAME", 0, 0, setupCert},
		{"code", "", 0, 0, noFlags(runCode)},
		{"verify", "CODE", 1, 1, noFlags(runVerify)},
		{"send", "WA_ID TEXT...", 2, -1, noFlags(runUserSend)},
		{"users", "", 0, 0, noFlags(runUsers)},
		{"user", "WA_ID [--name NAME] [--online=BOOL] [--auto-read-ms N] [--blocked=BOOL] [--whatsapp=BOOL]", 1, 1, setupUser},
		{"messages", "WA_ID", 1, 1, noFlags(runUserMessages)},
		{"read", "WA_ID MESSAGE_ID", 2, 2, noFlags(runUserRead)},
		{"change-number", "WA_ID NEW_WA_ID", 2, 2, noFlags(runChangeNumber)},
		{"identity", "WA_ID", 1, 1, noFlags(runChangeIdentity)},
		{"templates", "[add FILE | status NAME LANGUAGE STATUS | delete NAME LANGUAGE]", 0, 4, noFlags(runTemplates)},
		{"world", "[--non-whatsapp-pattern RE] [--non-whatsapp LIST] [--delivery-delay-ms N] [--read-delay-ms N] [--auto-read=BOOL] [--code-ttl-seconds N] [--connection-down=BOOL]", 0, 0, setupWorld},
	}
}

type sandboxRun = func(ctx context.Context, s *sandboxSession, args []string) error

func noFlags(run sandboxRun) func(*flag.FlagSet) sandboxRun {
	return func(*flag.FlagSet) sandboxRun { return run }
}

// sandboxSession is a logged-in client plus where the text goes.
type sandboxSession struct {
	api  *client.Client
	out  io.Writer
	json bool
}

// printf writes the readable text; with --json the raw answers are printed
// instead (by the client's response hook).
func (s *sandboxSession) printf(format string, a ...any) {
	if !s.json {
		fmt.Fprintf(s.out, format, a...)
	}
}

func runSandbox(ctx context.Context, e env, args []string) error {
	conn := newSandboxConn(e.getenv)
	top := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	conn.register(top)
	top.SetOutput(io.Discard)
	top.Usage = func() {}
	if err := top.Parse(args); errors.Is(err, flag.ErrHelp) || err == nil && (top.NArg() == 0 || top.Arg(0) == "help") {
		fmt.Fprintln(e.stdout, sandboxUsage)
		top.SetOutput(e.stdout)
		top.PrintDefaults()
		return flag.ErrHelp
	} else if err != nil {
		return fmt.Errorf("%w (see 'wabiz sandbox -h')", err)
	}
	name := top.Arg(0)
	var cmd *sandboxCommand
	for _, c := range sandboxCommands() {
		if c.name == name {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		return fmt.Errorf("unknown command %q (see 'wabiz sandbox -h')", name)
	}

	fs := flag.NewFlagSet("sandbox "+name, flag.ContinueOnError)
	run := cmd.setup(fs)
	conn.register(fs)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	pos, err := parseInterspersed(fs, top.Args()[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, strings.TrimSpace("usage: wabiz sandbox "+name+" "+cmd.args))
		// The command's own flags only; the connection flags are in 'wabiz sandbox -h'.
		own := flag.NewFlagSet(name, flag.ContinueOnError)
		cmd.setup(own)
		hasFlags := false
		own.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(e.stdout, "\nflags:")
			own.SetOutput(e.stdout)
			own.PrintDefaults()
		}
		fmt.Fprintln(e.stdout, "\nConnection flags (--url, --user, --password-file, --token, --cacert, --insecure, --json, ...): see 'wabiz sandbox -h'.")
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: %w (see 'wabiz sandbox %s -h')", name, err, name)
	}
	if len(pos) < cmd.minArgs || cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs {
		return fmt.Errorf("usage: wabiz sandbox %s %s", name, cmd.args)
	}

	s, logout, err := conn.open(ctx, e)
	if err != nil {
		return err
	}
	defer logout()
	return explainTLS(run(ctx, s, pos))
}

// parseInterspersed parses flags wherever they appear among the arguments
// ("send 15550001111 hi --json"), and returns the positional ones. After
// "--" everything is positional, so a text may start with a dash.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" || len(rest) == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// open builds the client and logs in unless a token was given. The
// returned function logs out again, so the command leaves no session
// behind on the server.
func (o *sandboxConn) open(ctx context.Context, e env) (*sandboxSession, func(), error) {
	s := &sandboxSession{out: e.stdout, json: o.json}
	opts := []client.Option{client.WithResponseHook(func(method, path string, status int, body []byte) {
		// Login answers carry the token: never echo them.
		if o.json && status/100 == 2 && !strings.HasPrefix(path, "/v1/users/log") {
			e.stdout.Write(body)
		}
	})}
	switch {
	case !strings.HasPrefix(strings.ToLower(o.url), "https://"):
		// Plain HTTP (WABIZ_HTTP_LISTEN, for development): no TLS to set up.
	case o.insecure:
		opts = append(opts, client.WithInsecureSkipVerify())
	case o.cacert != "":
		opts = append(opts, client.WithCACertFile(o.cacert))
	default:
		// The self-signed CA of a server started from this directory.
		if ca := filepath.Join(o.dataDir, "tls", certs.CAFile); fileExists(ca) {
			opts = append(opts, client.WithCACertFile(ca))
		}
	}
	token := o.token
	if token == "" {
		token = e.getenv("WABIZ_TOKEN")
	}
	if token != "" {
		s.api = client.New(o.url, append(opts, client.WithToken(token))...)
		return s, func() {}, nil
	}
	password, err := o.readPassword(e)
	if err != nil {
		return nil, nil, err
	}
	s.api = client.New(o.url, opts...)
	if _, _, err := s.api.Login(ctx, o.user, password, ""); err != nil {
		var apiErr *client.Error
		if errors.As(err, &apiErr) && apiErr.Has(1024) {
			return nil, nil, fmt.Errorf("log in as %s: %w (set a new password first: POST /v1/users/login with new_password)", o.user, err)
		}
		return nil, nil, explainTLS(fmt.Errorf("log in as %s: %w", o.user, err))
	}
	return s, func() {
		// Even after Ctrl-C the session should end on the server.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		s.api.Logout(ctx)
	}, nil
}

// readPassword takes, in order: --password-file, --password,
// WABIZ_PASSWORD_FILE, WABIZ_PASSWORD.
func (o *sandboxConn) readPassword(e env) (string, error) {
	file, password := o.passwordFile, o.password
	if file == "" && password == "" {
		file, password = e.getenv("WABIZ_PASSWORD_FILE"), e.getenv("WABIZ_PASSWORD")
	}
	switch {
	case file == "-":
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		return strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r"), nil
	case password != "":
		return password, nil
	}
	return "", fmt.Errorf("no password for %s: set WABIZ_PASSWORD, or use --password-file or a token (WABIZ_TOKEN)", o.user)
}

// explainTLS adds what to do when the server's certificate is not trusted,
// the first thing anyone meets with the self-signed default.
func explainTLS(err error) error {
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		return fmt.Errorf("%w\nthe server's certificate is not trusted: pass --cacert with the server's <data-dir>/tls/ca.pem (or --data-dir), or --insecure on a network you trust", err)
	}
	return err
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// numberFlags are the flags naming the business number.
type numberFlags struct{ cc, phone, vname string }

func (n *numberFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.cc, "cc", "", "country calling code, e.g. 1")
	fs.StringVar(&n.phone, "phone", "", "phone number without the country code, e.g. 5550100")
	fs.StringVar(&n.vname, "vname", "", "verified (display) name, e.g. Acme")
}

func (n *numberFlags) check() error {
	if n.cc == "" || n.phone == "" || n.vname == "" {
		return errors.New("--cc, --phone and --vname are required")
	}
	return nil
}

func setupRegister(fs *flag.FlagSet) sandboxRun {
	var n numberFlags
	n.register(fs)
	method := fs.String("method", "sms", "how the code is \"sent\": sms or voice")
	return func(ctx context.Context, s *sandboxSession, _ []string) error {
		if err := n.check(); err != nil {
			return err
		}
		cert, err := s.api.SandboxCertificate(ctx, n.cc, n.phone, n.vname)
		if err != nil {
			return fmt.Errorf("issue the certificate: %w", err)
		}
		s.printf("1/4 certificate issued for +%s %s, display name %q\n", n.cc, n.phone, n.vname)
		vname, registered, err := s.api.RequestCode(ctx, n.cc, n.phone, *method, cert)
		if err != nil {
			return fmt.Errorf("request the code (POST /v1/account): %w", err)
		}
		if registered {
			s.printf("2/4 +%s %s is already registered on this server: nothing more to do\n", n.cc, n.phone)
			return nil
		}
		s.printf("2/4 code requested by %s (POST /v1/account: 202, display name %q)\n", *method, vname)
		code, err := s.api.SandboxCode(ctx)
		if err != nil {
			return fmt.Errorf("read the code: %w", err)
		}
		s.printf("3/4 code %s received\n", code)
		if err := s.api.VerifyCode(ctx, code); err != nil {
			return fmt.Errorf("verify the code (POST /v1/account/verify): %w", err)
		}
		s.printf("4/4 +%s %s registered (POST /v1/account/verify: 201); the server is connecting, GET /v1/health shows when it is connected\n", n.cc, n.phone)
		return nil
	}
}

func setupCert(fs *flag.FlagSet) sandboxRun {
	var n numberFlags
	n.register(fs)
	return func(ctx context.Context, s *sandboxSession, _ []string) error {
		if err := n.check(); err != nil {
			return err
		}
		cert, err := s.api.SandboxCertificate(ctx, n.cc, n.phone, n.vname)
		if err != nil {
			return err
		}
		// The certificate alone, so that CERT=$(wabiz sandbox cert ...) works.
		s.printf("%s\n", cert)
		return nil
	}
}

func runCode(ctx context.Context, s *sandboxSession, _ []string) error {
	code, err := s.api.SandboxCode(ctx)
	if err != nil {
		return err
	}
	s.printf("%s\n", code)
	return nil
}

func runVerify(ctx context.Context, s *sandboxSession, args []string) error {
	if err := s.api.VerifyCode(ctx, args[0]); err != nil {
		return err
	}
	s.printf("registered; the server is connecting, GET /v1/health shows when it is connected\n")
	return nil
}

func runUserSend(ctx context.Context, s *sandboxSession, args []string) error {
	id, err := s.api.SandboxUserSend(ctx, args[0], strings.Join(args[1:], " "))
	if err != nil {
		return err
	}
	s.printf("%s\n", id)
	return nil
}

func runUsers(ctx context.Context, s *sandboxSession, _ []string) error {
	users, err := s.api.SandboxUsers(ctx)
	if err != nil || s.json {
		return err
	}
	if len(users) == 0 {
		s.printf("the sandbox has met no user yet\n")
		return nil
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WA_ID\tNAME\tONLINE\tAUTO-READ\tBLOCKED\tWHATSAPP")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.WaID, u.DisplayName, yesNo(u.Online), autoRead(u.AutoReadMs), yesNo(u.Blocked), yesNo(u.WhatsApp))
	}
	return tw.Flush()
}

func setupUser(fs *flag.FlagSet) sandboxRun {
	fs.String("name", "", "display name")
	// Defaults are zero values: only the flags given are sent, so a
	// default would be a misleading "(default true)" in the help.
	fs.Bool("online", false, "whether the phone is online (offline: messages wait, undelivered)")
	fs.Int64("auto-read-ms", 0, "read business messages this long after delivery: -1 never, 0 the world's rule")
	fs.Bool("blocked", false, "whether the user blocked the business")
	fs.Bool("whatsapp", false, "whether the number has WhatsApp")
	return func(ctx context.Context, s *sandboxSession, args []string) error {
		patch, err := givenFlags(fs, map[string]string{
			"name": "display_name", "online": "online", "auto-read-ms": "auto_read_ms", "blocked": "blocked", "whatsapp": "whatsapp",
		})
		if err != nil {
			return err
		}
		var u client.SandboxUser
		if len(patch) == 0 {
			u, err = s.api.SandboxUser(ctx, args[0])
		} else {
			u, err = s.api.SandboxUpdateUser(ctx, args[0], patch)
		}
		if err != nil || s.json {
			return err
		}
		tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "wa_id:\t%s\nname:\t%s\nonline:\t%s\nauto-read:\t%s\nblocked:\t%s\nwhatsapp:\t%s\n",
			u.WaID, u.DisplayName, yesNo(u.Online), autoRead(u.AutoReadMs), yesNo(u.Blocked), yesNo(u.WhatsApp))
		return tw.Flush()
	}
}

// givenFlags returns the flags set on the command line, under their API
// names, with their typed values: only what the user gave changes.
func givenFlags(fs *flag.FlagSet, apiNames map[string]string) (map[string]any, error) {
	patch := map[string]any{}
	var err error
	fs.Visit(func(f *flag.Flag) {
		key, ok := apiNames[f.Name]
		if !ok {
			return
		}
		getter, ok := f.Value.(flag.Getter)
		if !ok {
			err = fmt.Errorf("--%s: unreadable value", f.Name)
			return
		}
		patch[key] = getter.Get()
	})
	return patch, err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func autoRead(ms int64) string {
	switch {
	case ms < 0:
		return "never"
	case ms == 0:
		return "as the world"
	}
	return fmt.Sprintf("after %d ms", ms)
}

func runUserMessages(ctx context.Context, s *sandboxSession, args []string) error {
	conv, err := s.api.SandboxUserMessages(ctx, args[0])
	if err != nil || s.json {
		return err
	}
	section := func(title string, msgs []client.SandboxMessage, status func(client.SandboxMessage) string) {
		fmt.Fprintf(s.out, "%s (%d):\n", title, len(msgs))
		if len(msgs) == 0 {
			return
		}
		tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
		for _, m := range msgs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.ID, status(m), formatTimestamp(m.Timestamp), m.Text())
		}
		tw.Flush()
	}
	section("received from the business", conv.Received, func(m client.SandboxMessage) string { return m.Status })
	section("sent to the business", conv.Sent, func(m client.SandboxMessage) string {
		if m.Status == "read" {
			return "read"
		}
		return "unread"
	})
	return nil
}

// formatTimestamp shows the API's Unix seconds in the reader's time zone.
func formatTimestamp(unix string) string {
	sec, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return unix
	}
	return time.Unix(sec, 0).Format("2006-01-02 15:04:05")
}

func runUserRead(ctx context.Context, s *sandboxSession, args []string) error {
	if err := s.api.SandboxUserRead(ctx, args[0], args[1]); err != nil {
		return err
	}
	s.printf("%s read %s\n", args[0], args[1])
	return nil
}

func runChangeNumber(ctx context.Context, s *sandboxSession, args []string) error {
	if err := s.api.SandboxChangeNumber(ctx, args[0], args[1]); err != nil {
		return err
	}
	s.printf("%s is now %s; the business gets a system message about the change\n", args[0], args[1])
	return nil
}

func runChangeIdentity(ctx context.Context, s *sandboxSession, args []string) error {
	hash, err := s.api.SandboxChangeIdentity(ctx, args[0])
	if err != nil {
		return err
	}
	s.printf("%s has a new identity %s; with show_security_notifications on, sends to them need PUT /v1/contacts/%s/identity first\n", args[0], hash, args[0])
	return nil
}

// listFlag is a comma-separated list; "" is the empty list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Get() any       { return []string(*l) }
func (l *listFlag) Set(v string) error {
	*l = []string{}
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

func setupWorld(fs *flag.FlagSet) sandboxRun {
	fs.String("non-whatsapp-pattern", "", "regular expression: matching numbers have no WhatsApp ('' for none)")
	fs.Var(new(listFlag), "non-whatsapp", "comma-separated numbers that have no WhatsApp ('' for none)")
	fs.Int64("delivery-delay-ms", 0, "how long after sending an online user's phone reports delivery")
	fs.Int64("read-delay-ms", 0, "how long after delivery users read, when auto-read is on")
	fs.Bool("auto-read", false, "whether users read business messages on their own")
	fs.Int64("code-ttl-seconds", 0, "how long a registration code stays valid")
	fs.Bool("connection-down", false, "cut the server's connection to the simulated WhatsApp: sends are retried, nothing arrives, health says disconnected after the bound")
	return func(ctx context.Context, s *sandboxSession, _ []string) error {
		patch, err := givenFlags(fs, map[string]string{
			"non-whatsapp-pattern": "non_whatsapp_pattern", "non-whatsapp": "non_whatsapp", "delivery-delay-ms": "delivery_delay_ms",
			"read-delay-ms": "read_delay_ms", "auto-read": "auto_read", "code-ttl-seconds": "code_ttl_seconds",
			"connection-down": "connection_down",
		})
		if err != nil {
			return err
		}
		var w client.SandboxWorld
		if len(patch) == 0 {
			w, err = s.api.SandboxWorld(ctx)
		} else {
			w, err = s.api.SandboxSetWorld(ctx, patch)
		}
		if err != nil || s.json {
			return err
		}
		none := func(v string) string {
			if v == "" {
				return "(none)"
			}
			return v
		}
		tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "non_whatsapp_pattern:\t%s\nnon_whatsapp:\t%s\ndelivery_delay_ms:\t%d\nread_delay_ms:\t%d\nauto_read:\t%t\ncode_ttl_seconds:\t%d\nconnection_down:\t%t\n",
			none(w.NonWhatsAppPattern), none(strings.Join(w.NonWhatsApp, ",")), w.DeliveryDelayMs, w.ReadDelayMs, w.AutoRead, w.CodeTTLSeconds, w.ConnectionDown)
		return tw.Flush()
	}
}
