package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Option is one row of the declared option table.
type Option struct {
	Env     string // environment variable name, also the key in the config file, e.g. "WA_DB_ENGINE"
	Flag    string // command-line flag name without dashes, e.g. "db-engine"
	Default string // default as text ("" = empty)
	Secret  bool   // has an Env+"_FILE" variant whose file content is the value; never printed
	Help    string // one line for --help and the docs
	set     func(c *Config, value string) error
}

// Options returns the option table in the order used by --help and
// docs/configuration.md: server, database, security, logging and limits.
// Each call returns a fresh slice so callers cannot alter the table.
func Options() []Option {
	return []Option{
		// Server.
		{
			Env: "WABIZ_DATA_DIR", Flag: "data-dir", Default: "./wabiz-data",
			Help: "directory for persistent state (SQLite database, generated keys and certificates)",
			set:  nonEmptyText(func(c *Config) *string { return &c.DataDir }),
		},
		{
			Env: "WABIZ_LISTEN", Flag: "listen", Default: ":9090",
			Help: "HTTPS listen address, host:port",
			set: func(c *Config, v string) error {
				if err := checkListenAddress(v); err != nil {
					return err
				}
				c.Listen = v
				return nil
			},
		},
		{
			Env: "WABIZ_HTTP_LISTEN", Flag: "http-listen", Default: "",
			Help: "plain-HTTP listen address, host:port; empty disables plain HTTP",
			set: func(c *Config, v string) error {
				if v != "" {
					if err := checkListenAddress(v); err != nil {
						return fmt.Errorf("%w, or empty to disable plain HTTP", err)
					}
				}
				c.HTTPListen = v
				return nil
			},
		},
		{
			Env: "WABIZ_TLS_CERT_FILE", Flag: "tls-cert-file", Default: "",
			Help: "PEM certificate chain for HTTPS (with WABIZ_TLS_KEY_FILE); empty uses a server-generated certificate",
			set:  anyText(func(c *Config) *string { return &c.TLSCertFile }),
		},
		{
			Env: "WABIZ_TLS_KEY_FILE", Flag: "tls-key-file", Default: "",
			Help: "PEM private key for HTTPS (with WABIZ_TLS_CERT_FILE)",
			set:  anyText(func(c *Config) *string { return &c.TLSKeyFile }),
		},
		{
			Env: "WA_WEB_SERVERNAME", Flag: "web-servername", Default: "localhost",
			Help: "DNS name or IP address clients use to reach this server",
			set: func(c *Config, v string) error {
				if !isServerName(v) {
					return errors.New("must be a DNS name or IP address (letters, digits, '.' and '-', at most 253 characters, no empty labels)")
				}
				c.ServerName = v
				return nil
			},
		},
		{
			Env: "WA_VERSION", Flag: "api-version", Default: "v2.51.2",
			Help: "version string reported in meta.version of API responses",
			set: func(c *Config, v string) error {
				if !apiVersionPattern.MatchString(v) {
					return errors.New("must look like v2.51.2 or 2.51.2")
				}
				c.APIVersion = v
				return nil
			},
		},
		{
			Env: "WABIZ_SETTINGS_REFRESH", Flag: "settings-refresh", Default: "1s",
			Help: "how often a node applies settings, certificates and the webhook CA changed through other nodes",
			set:  durationIn(100*time.Millisecond, 10*time.Minute, func(c *Config) *time.Duration { return &c.SettingsRefresh }),
		},
		{
			Env: "WABIZ_NETWORK", Flag: "network", Default: "sandbox",
			Help: "the WhatsApp network messages travel on: sandbox (offline, simulated users)",
			set:  oneOf(func(c *Config) *string { return &c.Network }, "sandbox", "cloud"),
		},
		{
			Env: "WABIZ_CLOUD_GRAPH_URL", Flag: "cloud-graph-url", Default: "https://graph.facebook.com/v21.0",
			Help: "cloud network: the Graph API base URL, version included",
			set: func(c *Config, v string) error {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					return errors.New("must be an absolute http(s) URL")
				}
				c.Cloud.GraphURL = v
				return nil
			},
		},
		{
			Env: "WABIZ_CLOUD_PHONE_NUMBER_ID", Flag: "cloud-phone-number-id", Default: "",
			Help: "cloud network: the business phone number's id in the Cloud API",
			set:  anyText(func(c *Config) *string { return &c.Cloud.PhoneNumberID }),
		},
		{
			Env: "WABIZ_CLOUD_WABA_ID", Flag: "cloud-waba-id", Default: "",
			Help: "cloud network: the WhatsApp Business Account id (its message templates are loaded)",
			set:  anyText(func(c *Config) *string { return &c.Cloud.WABAID }),
		},
		{
			Env: "WABIZ_CLOUD_ACCESS_TOKEN", Flag: "cloud-access-token", Default: "", Secret: true,
			Help: "cloud network: a system-user access token with whatsapp_business_messaging and whatsapp_business_management",
			set:  anyText(func(c *Config) *string { return &c.Cloud.AccessToken }),
		},
		{
			Env: "WABIZ_CLOUD_APP_SECRET", Flag: "cloud-app-secret", Default: "", Secret: true,
			Help: "cloud network: the Meta app secret that signs webhooks (X-Hub-Signature-256)",
			set:  anyText(func(c *Config) *string { return &c.Cloud.AppSecret }),
		},
		{
			Env: "WABIZ_CLOUD_VERIFY_TOKEN", Flag: "cloud-verify-token", Default: "", Secret: true,
			Help: "cloud network: the token Meta's webhook subscription challenge must present",
			set:  anyText(func(c *Config) *string { return &c.Cloud.VerifyToken }),
		},
		{
			Env: "WABIZ_CLOUD_APP_ID", Flag: "cloud-app-id", Default: "",
			Help: "cloud network: the Meta app's id, through whose Resumable Upload API the profile photo is published; empty keeps the photo in wabiz only",
			set: func(c *Config, v string) error {
				if strings.Trim(v, "0123456789") != "" {
					return errors.New("must be the app's numeric id")
				}
				c.Cloud.AppID = v
				return nil
			},
		},
		{
			Env: "WABIZ_CLOUD_RATE", Flag: "cloud-rate", Default: "80",
			Help: "cloud network: messages per second sent to the Cloud API (its throughput tier), 1 to 1000",
			set:  integerIn(1, 1000, func(c *Config) *int { return &c.Cloud.Rate }),
		},
		{
			Env: "WABIZ_SANDBOX_TEMPLATES", Flag: "sandbox-templates", Default: "",
			Help: "JSON file of message templates the sandbox network adds, or replaces, at every start; empty adds none",
			set:  anyText(func(c *Config) *string { return &c.SandboxTemplates }),
		},
		{
			Env: "WABIZ_ROLE", Flag: "role", Default: "all",
			Help: "what this node runs: all (the HTTP API and the messaging engine), web (the API only) or core (the engine only, no listener); web and core need PostgreSQL or MySQL",
			set:  oneOf(func(c *Config) *string { return &c.Role }, "all", "web", "core"),
		},
		{
			Env: "WABIZ_PPROF_LISTEN", Flag: "pprof-listen", Default: "",
			Help: "loopback host:port serving Go's profiler (/debug/pprof/) over plain HTTP without authentication, for profiling (the benchmark's --profile); empty serves nothing",
			set: func(c *Config, v string) error {
				if v != "" {
					if err := checkListenAddress(v); err != nil {
						return fmt.Errorf("%w, or empty for no profiler", err)
					}
					if host, _, _ := net.SplitHostPort(v); !isLoopbackHost(host) {
						return errors.New("must be on a loopback address (127.0.0.1:port, [::1]:port or localhost:port): the profiler has no authentication")
					}
				}
				c.PprofListen = v
				return nil
			},
		},
		{
			Env: "WABIZ_CORE_MONITOR_LISTEN", Flag: "core-monitor-listen", Default: "",
			Help: "core role: plain-HTTP host:port serving only /v1/health and /metrics (Apikey or a token), e.g. 127.0.0.1:9091; empty serves nothing",
			set: func(c *Config, v string) error {
				if v != "" {
					if err := checkListenAddress(v); err != nil {
						return fmt.Errorf("%w, or empty for no monitoring listener", err)
					}
				}
				c.CoreMonitorListen = v
				return nil
			},
		},
		{
			Env: "WABIZ_NODE_NAME", Flag: "node-name", Default: "",
			Help: "this node's name in /v1/health (as <host name>:<name>) and in logs, up to 64 letters, digits, '.', '_' or '-'; empty uses a random id kept in the data directory",
			set: func(c *Config, v string) error {
				if !isNodeName(v) {
					return errors.New("must be up to 64 letters, digits, '.', '_' or '-'")
				}
				c.NodeName = v
				return nil
			},
		},
		{
			Env: "WABIZ_NODE_ID", Flag: "node-id", Default: "",
			Help: "name of this process in queue leases; empty uses the node name (WABIZ_NODE_NAME or its stored id)",
			set:  anyText(func(c *Config) *string { return &c.NodeID }),
		},
		{
			Env: "WABIZ_STARTUP_OFFLINE_LIMIT", Flag: "startup-offline-limit", Default: "6m",
			Help: "at most this long at start-up for the messages that arrived while the server was down; sends answer 1011 until then",
			set:  durationIn(time.Second, time.Hour, func(c *Config) *time.Duration { return &c.StartupOfflineLimit }),
		},
		{
			Env: "WABIZ_CONNECTION_LOST_AFTER", Flag: "connection-lost-after", Default: "1m",
			Help: "a connection to WhatsApp lost for longer than this is reported: one errors callback, /v1/health disconnected",
			set:  durationIn(10*time.Second, 24*time.Hour, func(c *Config) *time.Duration { return &c.ConnectionLostAfter }),
		},
		{
			Env: "WABIZ_SEND_CONCURRENCY", Flag: "send-concurrency", Default: "1024",
			Help: "most messages one core node has claimed and is sending at once (a Cloud round trip each)",
			set:  integerIn(1, 100000, func(c *Config) *int { return &c.SendConcurrency }),
		},
		{
			Env: "WABIZ_WEBHOOK_RETRY_HORIZON", Flag: "webhook-retry-horizon", Default: "24h",
			Help: "a callback not delivered within this time is dropped (and counted)",
			set:  durationIn(time.Minute, 30*24*time.Hour, func(c *Config) *time.Duration { return &c.WebhookRetryHorizon }),
		},
		{
			Env: "WABIZ_WEBHOOK_BATCH_MAX", Flag: "webhook-batch-max", Default: "20",
			Help: "most notifications of one kind sent together in one callback POST (1 sends each alone)",
			set:  integerIn(1, 1000, func(c *Config) *int { return &c.WebhookBatchMax }),
		},
		{
			Env: "WABIZ_WEBHOOK_QUEUE_LIMIT", Flag: "webhook-queue-limit", Default: "100000",
			Help: "callbacks queued before sends answer 1016 System overloaded",
			set:  integerIn(100, 100_000_000, func(c *Config) *int { return &c.WebhookQueueLimit }),
		},
		{
			Env: "WABIZ_WEBHOOK_ATTEMPT_LOG", Flag: "webhook-attempt-log", Default: "10000",
			Help: "callback POSTs kept in the console's webhook log (the newest; 0 keeps none)",
			set:  integerIn(0, 10_000_000, func(c *Config) *int { return &c.WebhookAttemptLog }),
		},
		{
			Env: "WABIZ_WEBHOOK_TIMEOUT", Flag: "webhook-timeout", Default: "20s",
			Help: "longest one callback POST may take, connection included, before it counts as failed and is retried",
			set:  durationIn(time.Second, 10*time.Minute, func(c *Config) *time.Duration { return &c.WebhookTimeout }),
		},
		{
			Env: "WABIZ_DB_TIMEOUT", Flag: "db-timeout", Default: "10s",
			Help: "longest a request waits for the database (checking a token, accepting a send) before answering 500/1023",
			set:  durationIn(100*time.Millisecond, 10*time.Minute, func(c *Config) *time.Duration { return &c.DBTimeout }),
		},
		{
			Env: "WABIZ_SHUTDOWN_TIMEOUT", Flag: "shutdown-timeout", Default: "15s",
			Help: "how long shutdown waits for in-flight requests",
			set:  durationIn(0, 10*time.Minute, func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
		},

		// Database.
		{
			Env: "WA_DB_ENGINE", Flag: "db-engine", Default: "SQLITE",
			Help: "database engine: SQLITE, MYSQL or PGSQL (POSTGRES and POSTGRESQL are aliases)",
			set: func(c *Config, v string) error {
				engine, ok := engineAliases[strings.ToUpper(v)]
				if !ok {
					return errors.New("must be one of SQLITE, MYSQL, PGSQL, POSTGRES, POSTGRESQL")
				}
				c.DB.Engine = engine
				return nil
			},
		},
		{
			Env: "WA_DB_HOSTNAME", Flag: "db-hostname", Default: "127.0.0.1",
			Help: "database server host (MYSQL and PGSQL)",
			set: func(c *Config, v string) error {
				if v == "" || strings.IndexFunc(v, isSpaceOrControl) >= 0 {
					return errors.New("must be a non-empty host name without spaces")
				}
				c.DB.Hostname = v
				return nil
			},
		},
		{
			Env: "WA_DB_PORT", Flag: "db-port", Default: "",
			Help: "database server port; empty means the engine default (3306 MYSQL, 5432 PGSQL)",
			set: func(c *Config, v string) error {
				if v == "" {
					c.DB.Port = 0
					return nil
				}
				return integerIn(1, 65535, func(c *Config) *int { return &c.DB.Port })(c, v)
			},
		},
		{
			Env: "WA_DB_USERNAME", Flag: "db-username", Default: "",
			Help: "database user; empty means the engine default (root for MYSQL, postgres for PGSQL)",
			set:  anyText(func(c *Config) *string { return &c.DB.Username }),
		},
		{
			Env: "WA_DB_PASSWORD", Flag: "db-password", Default: "", Secret: true,
			Help: "database password",
			set:  anyText(func(c *Config) *string { return &c.DB.Password }),
		},
		{
			Env: "WA_DB_NAME_PREFIX", Flag: "db-name-prefix", Default: "",
			Help: "prefix of the database wabiz creates (<prefix>wabiz)",
			set: func(c *Config, v string) error {
				if !namePrefixPattern.MatchString(v) {
					return errors.New("must be at most 32 letters, digits or underscores")
				}
				c.DB.NamePrefix = v
				return nil
			},
		},
		{
			Env: "WA_DB_SSL_CA", Flag: "db-ssl-ca", Default: "",
			Help: "PEM CA bundle for verifying the database server",
			set:  anyText(func(c *Config) *string { return &c.DB.SSLCA }),
		},
		{
			Env: "WA_DB_SSL_CERT", Flag: "db-ssl-cert", Default: "",
			Help: "PEM client certificate for the database (with WA_DB_SSL_KEY)",
			set:  anyText(func(c *Config) *string { return &c.DB.SSLCert }),
		},
		{
			Env: "WA_DB_SSL_KEY", Flag: "db-ssl-key", Default: "",
			Help: "PEM client key for the database (with WA_DB_SSL_CERT)",
			set:  anyText(func(c *Config) *string { return &c.DB.SSLKey }),
		},
		{
			// Must stay after the three WA_DB_SSL_* paths: its empty default
			// is derived from them, and options are applied in table order.
			Env: "WA_DB_SSL_VERIFY", Flag: "db-ssl-verify", Default: "",
			Help: "verify the database server certificate; empty means true when any WA_DB_SSL_* path is set",
			set: func(c *Config, v string) error {
				if v == "" {
					c.DB.SSLVerify = c.DB.SSLCA != "" || c.DB.SSLCert != "" || c.DB.SSLKey != ""
					return nil
				}
				return boolean(func(c *Config) *bool { return &c.DB.SSLVerify })(c, v)
			},
		},
		{
			Env: "WA_DB_CONNECTION_IDLE_TIMEOUT", Flag: "db-connection-idle-timeout", Default: "180000",
			Help: "milliseconds after which an idle database connection is closed",
			set: func(c *Config, v string) error {
				ms, err := strconv.ParseInt(v, 10, 64)
				if err != nil || ms < 1000 || ms > 86400000 {
					return errors.New("must be an integer number of milliseconds between 1000 and 86400000")
				}
				c.DB.ConnIdleTimeout = time.Duration(ms) * time.Millisecond
				return nil
			},
		},
		{
			Env: "WABIZ_DB_MAX_OPEN_CONNS", Flag: "db-max-open-conns", Default: "16",
			Help: "maximum open database connections per node",
			set:  integerIn(1, 1000, func(c *Config) *int { return &c.DB.MaxOpenConns }),
		},
		{
			Env: "WABIZ_SQLITE_PATH", Flag: "sqlite-path", Default: "",
			Help: "SQLite database file; empty means <WABIZ_DATA_DIR>/wabiz.db",
			set:  anyText(func(c *Config) *string { return &c.SQLitePathOverride }),
		},

		// Security.
		{
			Env: "WA_API_KEY", Flag: "api-key", Default: "", Secret: true,
			Help: "API key, as WA_API_KEY of the official image; empty or 12-128 printable ASCII characters without spaces",
			set: func(c *Config, v string) error {
				if v != "" && !isAPIKey(v) {
					return errors.New("must be empty or 12 to 128 printable ASCII characters without spaces")
				}
				c.APIKey = v
				return nil
			},
		},
		{
			Env: "WA_WEB_JWT_CRYPTO_KEY", Flag: "jwt-key", Default: "", Secret: true,
			Help: "key for signing auth tokens, at least 32 bytes; empty means the server generates and stores one",
			set: func(c *Config, v string) error {
				if v != "" && len(v) < 32 {
					return errors.New("must be empty or at least 32 bytes long")
				}
				c.JWTKey = v
				return nil
			},
		},
		{
			Env: "WABIZ_TOKEN_LIFETIME", Flag: "token-lifetime", Default: "168h",
			Help: "lifetime of auth tokens issued by /v1/users/login",
			set:  durationIn(time.Minute, 8760*time.Hour, func(c *Config) *time.Duration { return &c.TokenLifetime }),
		},
		{
			Env: "WABIZ_BCRYPT_COST", Flag: "bcrypt-cost", Default: "10",
			Help: "bcrypt cost for stored user passwords",
			set:  integerIn(4, 16, func(c *Config) *int { return &c.BcryptCost }),
		},
		{
			Env: "WABIZ_LOGIN_FAILURE_LIMIT", Flag: "login-failure-limit", Default: "30",
			Help: "failed logins per hour per client IP before logins answer 429",
			set:  integerIn(1, 100000, func(c *Config) *int { return &c.LoginFailureLimit }),
		},
		{
			Env: "WABIZ_WEBHOOK_ALLOW_HTTP", Flag: "webhook-allow-http", Default: "false",
			Help: "allow http:// webhook URLs (local development and tests only)",
			set:  boolean(func(c *Config) *bool { return &c.WebhookAllowHTTP }),
		},

		// Media.
		{
			Env: "WABIZ_MEDIA_DIR", Flag: "media-dir", Default: "",
			Help: "media volume (uploaded and received files); empty means <WABIZ_DATA_DIR>/media; nodes of one deployment share it",
			set:  anyText(func(c *Config) *string { return &c.MediaDirOverride }),
		},
		{
			Env: "WABIZ_MEDIA_LINK_TIMEOUT", Flag: "media-link-timeout", Default: "60s",
			Help: "longest download of a media sent by link, body included",
			set:  durationIn(time.Second, time.Hour, func(c *Config) *time.Duration { return &c.MediaLinkTimeout }),
		},
		{
			Env: "WABIZ_MEDIA_ALLOW_PRIVATE_LINKS", Flag: "media-allow-private-links", Default: "false",
			Help: "let media links reach loopback, private and CGNAT addresses (intranet media servers, tests); link-local stays refused",
			set:  boolean(func(c *Config) *bool { return &c.MediaPrivateLinks }),
		},

		// Logging and limits.
		{
			Env: "WABIZ_LOG_LEVEL", Flag: "log-level", Default: "info",
			Help: "log level: debug, info, warn or error",
			set:  oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error"),
		},
		{
			Env: "WABIZ_LOG_FORMAT", Flag: "log-format", Default: "text",
			Help: "log format: text or json",
			set:  oneOf(func(c *Config) *string { return &c.LogFormat }, "text", "json"),
		},
		{
			Env: "WABIZ_MAX_BODY_BYTES", Flag: "max-body-bytes", Default: "1048576",
			Help: "largest accepted JSON request body in bytes",
			set:  integerIn(int64(1024), 67108864, func(c *Config) *int64 { return &c.MaxBodyBytes }),
		},
		{
			Env: "WABIZ_MAX_HEADER_BYTES", Flag: "max-header-bytes", Default: "65536",
			Help: "largest accepted request line and headers in bytes; larger requests get 431",
			set:  integerIn(4096, 1<<20, func(c *Config) *int { return &c.MaxHeaderBytes }),
		},
		{
			Env: "WABIZ_READ_HEADER_TIMEOUT", Flag: "read-header-timeout", Default: "10s",
			Help: "time a client has to send the request line and headers (TLS handshake included) before the connection is closed",
			set:  durationIn(time.Second, 10*time.Minute, func(c *Config) *time.Duration { return &c.ReadHeaderTimeout }),
		},
		{
			Env: "WABIZ_READ_TIMEOUT", Flag: "read-timeout", Default: "60s",
			Help: "time a client has to send a whole request, body included (file routes: WABIZ_TRANSFER_TIMEOUT)",
			set:  durationIn(time.Second, time.Hour, func(c *Config) *time.Duration { return &c.ReadTimeout }),
		},
		{
			Env: "WABIZ_WRITE_TIMEOUT", Flag: "write-timeout", Default: "60s",
			Help: "time from the end of a request's headers to the end of its answer (file routes: WABIZ_TRANSFER_TIMEOUT)",
			set:  durationIn(time.Second, time.Hour, func(c *Config) *time.Duration { return &c.WriteTimeout }),
		},
		{
			Env: "WABIZ_IDLE_TIMEOUT", Flag: "idle-timeout", Default: "120s",
			Help: "a keep-alive connection with no request for this long is closed",
			set:  durationIn(time.Second, time.Hour, func(c *Config) *time.Duration { return &c.IdleTimeout }),
		},
		{
			Env: "WABIZ_TRANSFER_TIMEOUT", Flag: "transfer-timeout", Default: "10m",
			Help: "read and write time of the requests that carry a file (media upload and download, profile photo upload, restore)",
			set:  durationIn(time.Second, 24*time.Hour, func(c *Config) *time.Duration { return &c.TransferTimeout }),
		},
		{
			Env: "WABIZ_MAX_CONCURRENT_REQUESTS", Flag: "max-concurrent-requests", Default: "512",
			Help: "API requests served at once by this node; beyond it requests answer 503/1016 at once; 0 disables the bound",
			set:  integerIn(0, 1_000_000, func(c *Config) *int { return &c.MaxInFlight }),
		},
		{
			Env: "WABIZ_HEALTH_RATE_LIMIT", Flag: "health-rate-limit", Default: "10",
			Help: "GET /v1/health calls per minute, server-wide; 0 disables the limit",
			set:  integerIn(0, 100000, func(c *Config) *int { return &c.HealthRateLimit }),
		},
	}
}

var (
	apiVersionPattern = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)
	namePrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_]{0,32}$`)

	// Operators spell PostgreSQL several ways; the rest
	// of wabiz only ever sees the normalised names.
	engineAliases = map[string]string{
		"SQLITE":     "SQLITE",
		"MYSQL":      "MYSQL",
		"PGSQL":      "PGSQL",
		"POSTGRES":   "PGSQL",
		"POSTGRESQL": "PGSQL",
	}
)

func anyText(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		return nil
	}
}

func nonEmptyText(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		*field(c) = v
		return nil
	}
}

func integerIn[T int | int64](lo, hi T, field func(*Config) *T) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < int64(lo) || n > int64(hi) {
			return fmt.Errorf("must be an integer between %d and %d", lo, hi)
		}
		*field(c) = T(n)
		return nil
	}
}

func durationIn(lo, hi time.Duration, field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("must be a duration such as 90s or 1h30m, between %s and %s",
				shortDuration(lo), shortDuration(hi))
		}
		*field(c) = d
		return nil
	}
}

// shortDuration prints 8760h rather than 8760h0m0s so limits in error
// messages read the way users write them.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		*field(c) = b
		return nil
	}
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, errors.New("must be one of true/false, yes/no, on/off, 1/0")
}

// oneOf accepts the choices case-insensitively and stores them lower-case,
// so the rest of the code can compare against constants.
func oneOf(field func(*Config) *string, choices ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		lower := strings.ToLower(v)
		for _, choice := range choices {
			if lower == choice {
				*field(c) = choice
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(choices, ", "))
	}
}

func checkListenAddress(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err == nil && port != "" && strings.Trim(port, "0123456789") == "" {
		if n, convErr := strconv.Atoi(port); convErr == nil && n <= 65535 {
			return nil
		}
	}
	return errors.New("must be host:port with a numeric port 0-65535, e.g. :9090 or 127.0.0.1:9090")
}

// isLoopbackHost reports whether a listen host is a loopback address.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isServerName keeps the name usable unescaped in certificates and URLs,
// which is where the server uses it.
// isNodeName: empty (the default) or a short name safe in keys and logs.
func isNodeName(v string) bool {
	if len(v) > 64 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func isServerName(v string) bool {
	if v == "" || len(v) > 253 {
		return false
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func isAPIKey(v string) bool {
	if len(v) < 12 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '!' || v[i] > '~' {
			return false
		}
	}
	return true
}

func isSpaceOrControl(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r)
}
