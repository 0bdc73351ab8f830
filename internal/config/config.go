// Package config resolves wabiz's settings from flags, environment, an
// optional config file and defaults, all driven by one declared option
// table (see Options) so that --help, validation and docs cannot disagree.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the fully resolved and validated configuration of one node.
type Config struct {
	DataDir             string        // WABIZ_DATA_DIR
	Listen              string        // WABIZ_LISTEN: HTTPS host:port
	HTTPListen          string        // WABIZ_HTTP_LISTEN: plain HTTP host:port, "" = disabled
	CoreMonitorListen   string        // WABIZ_CORE_MONITOR_LISTEN: a core node's plain-HTTP health and metrics, "" = none
	PprofListen         string        // WABIZ_PPROF_LISTEN: Go's profiler on loopback, "" = none
	TLSCertFile         string        // WABIZ_TLS_CERT_FILE: PEM chain; set together with TLSKeyFile
	TLSKeyFile          string        // WABIZ_TLS_KEY_FILE
	ServerName          string        // WA_WEB_SERVERNAME
	APIKey              string        // WA_API_KEY (secret)
	JWTKey              string        // WA_WEB_JWT_CRYPTO_KEY (secret): "" = server generates and stores one
	APIVersion          string        // WA_VERSION: reported as meta.version
	LogLevel            string        // WABIZ_LOG_LEVEL: debug|info|warn|error, lower-case
	LogFormat           string        // WABIZ_LOG_FORMAT: text|json
	MaxBodyBytes        int64         // WABIZ_MAX_BODY_BYTES
	MaxHeaderBytes      int           // WABIZ_MAX_HEADER_BYTES
	ReadHeaderTimeout   time.Duration // WABIZ_READ_HEADER_TIMEOUT
	ReadTimeout         time.Duration // WABIZ_READ_TIMEOUT
	WriteTimeout        time.Duration // WABIZ_WRITE_TIMEOUT
	IdleTimeout         time.Duration // WABIZ_IDLE_TIMEOUT
	TransferTimeout     time.Duration // WABIZ_TRANSFER_TIMEOUT: file routes' read and write time
	MaxInFlight         int           // WABIZ_MAX_CONCURRENT_REQUESTS: 0 = unbounded
	TokenLifetime       time.Duration // WABIZ_TOKEN_LIFETIME
	HealthRateLimit     int           // WABIZ_HEALTH_RATE_LIMIT: per minute, server-wide; 0 = unlimited
	LoginFailureLimit   int           // WABIZ_LOGIN_FAILURE_LIMIT: per hour per client IP
	BcryptCost          int           // WABIZ_BCRYPT_COST
	WebhookAllowHTTP    bool          // WABIZ_WEBHOOK_ALLOW_HTTP
	SettingsRefresh     time.Duration // WABIZ_SETTINGS_REFRESH
	Network             string        // WABIZ_NETWORK: "sandbox"
	SandboxTemplates    string        // WABIZ_SANDBOX_TEMPLATES: template file seeded at start, "" = none
	Role                string        // WABIZ_ROLE: all|web|core
	NodeName            string        // WABIZ_NODE_NAME: "" = an id kept in the data directory
	NodeID              string        // WABIZ_NODE_ID: lease owner, "" = the node name
	StartupOfflineLimit time.Duration // WABIZ_STARTUP_OFFLINE_LIMIT
	ConnectionLostAfter time.Duration // WABIZ_CONNECTION_LOST_AFTER
	SendConcurrency     int           // WABIZ_SEND_CONCURRENCY: messages one core node sends at once
	WebhookRetryHorizon time.Duration // WABIZ_WEBHOOK_RETRY_HORIZON
	WebhookBatchMax     int           // WABIZ_WEBHOOK_BATCH_MAX
	WebhookQueueLimit   int           // WABIZ_WEBHOOK_QUEUE_LIMIT
	WebhookAttemptLog   int           // WABIZ_WEBHOOK_ATTEMPT_LOG: attempts kept for the console, 0 = none
	WebhookTimeout      time.Duration // WABIZ_WEBHOOK_TIMEOUT: one callback POST
	DBTimeout           time.Duration // WABIZ_DB_TIMEOUT: a request's database work
	ShutdownTimeout     time.Duration // WABIZ_SHUTDOWN_TIMEOUT
	SQLitePathOverride  string        // WABIZ_SQLITE_PATH: "" = DataDir/wabiz.db; use SQLitePath()
	MediaDirOverride    string        // WABIZ_MEDIA_DIR: "" = DataDir/media; use MediaDir()
	MediaLinkTimeout    time.Duration // WABIZ_MEDIA_LINK_TIMEOUT
	MediaPrivateLinks   bool          // WABIZ_MEDIA_ALLOW_PRIVATE_LINKS
	DB                  DBConfig
	Cloud               CloudConfig
}

// CloudConfig holds the cloud network's settings (WABIZ_NETWORK=cloud).
type CloudConfig struct {
	GraphURL      string // WABIZ_CLOUD_GRAPH_URL
	PhoneNumberID string // WABIZ_CLOUD_PHONE_NUMBER_ID
	WABAID        string // WABIZ_CLOUD_WABA_ID
	AccessToken   string // WABIZ_CLOUD_ACCESS_TOKEN (secret)
	AppSecret     string // WABIZ_CLOUD_APP_SECRET (secret)
	VerifyToken   string // WABIZ_CLOUD_VERIFY_TOKEN (secret)
	AppID         string // WABIZ_CLOUD_APP_ID
	Rate          int    // WABIZ_CLOUD_RATE
}

// DBConfig holds the database settings, named after the official image's
// WA_DB_* variables so existing deployments can be pointed at wabiz.
type DBConfig struct {
	Engine          string        // WA_DB_ENGINE: "SQLITE", "MYSQL" or "PGSQL"
	Hostname        string        // WA_DB_HOSTNAME
	Port            int           // WA_DB_PORT: 0 = engine default (3306 MYSQL, 5432 PGSQL)
	Username        string        // WA_DB_USERNAME: "" = engine default, applied by the store
	Password        string        // WA_DB_PASSWORD (secret)
	NamePrefix      string        // WA_DB_NAME_PREFIX: database is <prefix>wabiz
	SSLCA           string        // WA_DB_SSL_CA: PEM CA bundle path
	SSLCert         string        // WA_DB_SSL_CERT: client certificate path; set together with SSLKey
	SSLKey          string        // WA_DB_SSL_KEY: client key path
	SSLVerify       bool          // WA_DB_SSL_VERIFY: defaults to true when any SSL path is set
	ConnIdleTimeout time.Duration // WA_DB_CONNECTION_IDLE_TIMEOUT (given in milliseconds)
	MaxOpenConns    int           // WABIZ_DB_MAX_OPEN_CONNS
}

const (
	// ConfigEnv and ConfigFlag name the optional config file. They are not
	// rows of the option table because the file cannot name itself.
	ConfigEnv  = "WABIZ_CONFIG"
	ConfigFlag = "config"

	secretFileEnvSuffix  = "_FILE"
	secretFileFlagSuffix = "-file"

	// Secrets are passwords and keys; a larger file is almost certainly the
	// wrong file, and reading it whole would only hide that.
	maxSecretFileBytes = 64 << 10
)

// Load registers one string flag per option on fs (plus --config and a
// --<flag>-file variant for each secret), parses args and resolves every
// option with precedence flag > environment > config file > default.
// An empty environment variable or config-file value counts as unset;
// a flag given with an empty value counts as set. getenv may be nil,
// meaning an empty environment. Positional arguments stay in fs.Args().
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (*Config, error) {
	c, _, err := LoadEffective(fs, args, getenv)
	return c, err
}

// Setting is one option as resolved, for support output (wabiz doctor's
// bundle): a secret's value is never here, only whether it is set.
type Setting struct {
	Env    string `json:"env"`
	Value  string `json:"value"`
	Origin string `json:"origin"` // "default", "environment", "--flag", a config file line, a *_FILE
	Secret bool   `json:"secret,omitempty"`
}

// RedactedValue stands for a secret that is set.
const RedactedValue = "(set, not shown)"

// LoadEffective is Load that also reports every option's resolved value
// and origin, in table order, with each secret's value replaced by
// RedactedValue (or left empty when unset).
func LoadEffective(fs *flag.FlagSet, args []string, getenv func(string) string) (*Config, []Setting, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	options := Options()

	fs.String(ConfigFlag, "", "config file of NAME=value lines [$"+ConfigEnv+"]")
	flagByName := make(map[string]string) // env-style name -> flag name
	for _, o := range options {
		fs.String(o.Flag, o.Default, o.Help+" [$"+o.Env+"]")
		flagByName[o.Env] = o.Flag
		if o.Secret {
			fileFlag := o.Flag + secretFileFlagSuffix
			fs.String(fileFlag, "", "file whose content is "+o.Env+"; keeps the secret out of the process list [$"+o.Env+secretFileEnvSuffix+"]")
			flagByName[o.Env+secretFileEnvSuffix] = fileFlag
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	given := make(map[string]string)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })

	fromFlags := func(name string) (string, string, bool) {
		flagName, ok := flagByName[name]
		if !ok {
			return "", "", false
		}
		v, ok := given[flagName]
		return v, "--" + flagName, ok
	}
	fromEnv := func(name string) (string, string, bool) {
		v := getenv(name)
		return v, "environment", v != ""
	}
	layers := []lookupFunc{fromFlags, fromEnv}

	configPath, explicit := given[ConfigFlag]
	if !explicit {
		configPath = getenv(ConfigEnv)
	}
	if configPath != "" {
		entries, err := readConfigFile(configPath, knownNames(options))
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, func(name string) (string, string, bool) {
			e, ok := entries[name]
			return e.value, fmt.Sprintf("config file %s line %d", configPath, e.line), ok && e.value != ""
		})
	}

	c := &Config{}
	var errs []error
	settings := make([]Setting, 0, len(options))
	for _, o := range options {
		value, origin, err := resolve(o, layers)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		shown := value
		if o.Secret && value != "" {
			shown = RedactedValue
		}
		settings = append(settings, Setting{Env: o.Env, Value: shown, Origin: origin, Secret: o.Secret})
		if err := o.set(c, value); err != nil {
			if o.Secret {
				errs = append(errs, fmt.Errorf("%s: invalid value (not shown, from %s): %w", o.Env, origin, err))
			} else {
				errs = append(errs, fmt.Errorf("%s: invalid value %q (from %s): %w", o.Env, value, origin, err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	if err := c.checkCombinations(); err != nil {
		return nil, nil, err
	}
	return c, settings, nil
}

// Default returns a Config with every option at its default.
func Default() *Config {
	c := &Config{}
	for _, o := range Options() {
		if err := o.set(c, o.Default); err != nil {
			panic(fmt.Sprintf("config: default of %s is invalid: %v", o.Env, err))
		}
	}
	return c
}

// SQLitePath is where the SQLite database lives.
func (c *Config) SQLitePath() string {
	if c.SQLitePathOverride != "" {
		return c.SQLitePathOverride
	}
	return filepath.Join(c.DataDir, "wabiz.db")
}

// MediaDir is the media volume.
func (c *Config) MediaDir() string {
	if c.MediaDirOverride != "" {
		return c.MediaDirOverride
	}
	return filepath.Join(c.DataDir, "media")
}

func (c *Config) checkCombinations() error {
	return errors.Join(
		bothOrNeither("WABIZ_TLS_CERT_FILE", c.TLSCertFile, "WABIZ_TLS_KEY_FILE", c.TLSKeyFile),
		bothOrNeither("WA_DB_SSL_CERT", c.DB.SSLCert, "WA_DB_SSL_KEY", c.DB.SSLKey),
		c.checkCloud(),
		c.checkRole(),
	)
}

// checkRole: a split role shares its database with the other nodes, which
// SQLite (one file, one process) cannot do; only a core node, which has no
// API listener, has a monitoring one.
func (c *Config) checkRole() error {
	if c.Role != "all" && c.DB.Engine == "SQLITE" {
		return fmt.Errorf("WABIZ_ROLE=%s needs a database several nodes share (WA_DB_ENGINE=PGSQL or MYSQL); SQLite is for one node, which runs with WABIZ_ROLE=all", c.Role)
	}
	if c.CoreMonitorListen != "" && c.Role != "core" {
		return fmt.Errorf("WABIZ_CORE_MONITOR_LISTEN is for WABIZ_ROLE=core; WABIZ_ROLE=%s serves /v1/health and /metrics on WABIZ_LISTEN", c.Role)
	}
	return nil
}

// checkCloud: the cloud network cannot start without its identifiers and
// secrets; say which are missing at start-up, not at the first send.
func (c *Config) checkCloud() error {
	if c.Network != "cloud" {
		return nil
	}
	var missing []string
	for _, o := range []struct{ name, value string }{
		{"WABIZ_CLOUD_PHONE_NUMBER_ID", c.Cloud.PhoneNumberID}, {"WABIZ_CLOUD_WABA_ID", c.Cloud.WABAID},
		{"WABIZ_CLOUD_ACCESS_TOKEN", c.Cloud.AccessToken}, {"WABIZ_CLOUD_APP_SECRET", c.Cloud.AppSecret},
		{"WABIZ_CLOUD_VERIFY_TOKEN", c.Cloud.VerifyToken},
	} {
		if o.value == "" {
			missing = append(missing, o.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("WABIZ_NETWORK=cloud needs %s", strings.Join(missing, ", "))
	}
	return nil
}

// bothOrNeither exists because half a certificate/key pair only fails later,
// at the first TLS handshake, far from the setting that caused it.
func bothOrNeither(nameA, valueA, nameB, valueB string) error {
	switch {
	case valueA != "" && valueB == "":
		return fmt.Errorf("%s is set but %s is not: set both or neither", nameA, nameB)
	case valueA == "" && valueB != "":
		return fmt.Errorf("%s is set but %s is not: set both or neither", nameB, nameA)
	}
	return nil
}

// lookupFunc reports the raw text one configuration layer holds for name
// (an option's Env, or Env+"_FILE"), and where it came from for errors.
type lookupFunc func(name string) (value, origin string, ok bool)

func resolve(o Option, layers []lookupFunc) (string, string, error) {
	fileName := o.Env + secretFileEnvSuffix
	for _, lookup := range layers {
		value, origin, ok := lookup(o.Env)
		if o.Secret {
			path, pathOrigin, pathOK := lookup(fileName)
			if ok && pathOK {
				where := "both in the " + origin
				if origin != pathOrigin {
					where = "from " + origin + " and " + pathOrigin
				}
				return "", "", fmt.Errorf("%s: set either %s or %s, not both (%s)", o.Env, o.Env, fileName, where)
			}
			if pathOK {
				content, err := readSecretFile(path)
				if err != nil {
					return "", "", fmt.Errorf("%s (from %s): %w", fileName, pathOrigin, err)
				}
				return content, fmt.Sprintf("file %s named by %s", path, fileName), nil
			}
		}
		if ok {
			return value, origin, nil
		}
	}
	return o.Default, "default", nil
}

func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxSecretFileBytes {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFileBytes)
	}
	// Editors and `echo` add a final newline that is never part of the secret.
	return strings.TrimRight(string(data), "\r\n"), nil
}

func knownNames(options []Option) map[string]bool {
	known := make(map[string]bool)
	for _, o := range options {
		known[o.Env] = true
		if o.Secret {
			known[o.Env+secretFileEnvSuffix] = true
		}
	}
	return known
}

type fileEntry struct {
	value string
	line  int
}

// readConfigFile parses NAME=value lines. Unknown and repeated names are
// errors because a silently ignored typo is a setting the operator thinks
// is active. Line contents are never quoted in errors: they may hold secrets.
func readConfigFile(path string, known map[string]bool) (map[string]fileEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	entries := make(map[string]fileEntry)
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		lineNo := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, found := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		switch {
		case !found || name == "":
			errs = append(errs, fmt.Errorf("config file %s line %d: expected NAME=value", path, lineNo))
		case !known[name]:
			errs = append(errs, fmt.Errorf("config file %s line %d: unknown option %q", path, lineNo, name))
		case entries[name].line != 0:
			errs = append(errs, fmt.Errorf("config file %s line %d: %s is already set on line %d", path, lineNo, name, entries[name].line))
		default:
			entries[name] = fileEntry{value: unquote(strings.TrimSpace(value)), line: lineNo}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return entries, nil
}

// unquote strips one pair of matching quotes, without escape processing,
// so values copied from shell-style env files keep working.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// SecretValues returns the values of the secrets that are set (every
// option marked Secret in the table), so that support output can scrub
// them from text that might quote one (an error message, a URL).
func (c *Config) SecretValues() []string {
	var out []string
	for _, v := range []string{c.DB.Password, c.APIKey, c.JWTKey, c.Cloud.AccessToken, c.Cloud.AppSecret, c.Cloud.VerifyToken} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
