package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (*Config, *flag.FlagSet, error) {
	t.Helper()
	fs := flag.NewFlagSet("wabiz", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, err := Load(fs, args, func(name string) string { return env[name] })
	return c, fs, err
}

func mustLoad(t *testing.T, args []string, env map[string]string) *Config {
	t.Helper()
	c, _, err := load(t, args, env)
	if err != nil {
		t.Fatalf("Load(%q, %v): %v", args, env, err)
	}
	return c
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaults(t *testing.T) {
	want := &Config{
		DataDir:             "./wabiz-data",
		Listen:              ":9090",
		ServerName:          "localhost",
		APIVersion:          "v2.51.2",
		LogLevel:            "info",
		LogFormat:           "text",
		MaxBodyBytes:        1048576,
		MaxHeaderBytes:      65536,
		ReadHeaderTimeout:   10 * time.Second,
		ReadTimeout:         60 * time.Second,
		WriteTimeout:        60 * time.Second,
		IdleTimeout:         120 * time.Second,
		TransferTimeout:     10 * time.Minute,
		MaxInFlight:         512,
		TokenLifetime:       168 * time.Hour,
		HealthRateLimit:     10,
		LoginFailureLimit:   30,
		BcryptCost:          10,
		SettingsRefresh:     time.Second,
		ShutdownTimeout:     15 * time.Second,
		Network:             "sandbox",
		Role:                "all",
		Cloud:               CloudConfig{GraphURL: "https://graph.facebook.com/v21.0", Rate: 80},
		StartupOfflineLimit: 6 * time.Minute,
		ConnectionLostAfter: time.Minute,
		SendConcurrency:     1024,
		WebhookRetryHorizon: 24 * time.Hour,
		WebhookBatchMax:     20,
		WebhookQueueLimit:   100000,
		WebhookAttemptLog:   10000,
		WebhookTimeout:      20 * time.Second,
		DBTimeout:           10 * time.Second,
		MediaLinkTimeout:    60 * time.Second,
		DB: DBConfig{
			Engine:          "SQLITE",
			Hostname:        "127.0.0.1",
			ConnIdleTimeout: 180 * time.Second,
			MaxOpenConns:    16,
		},
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", got, want)
	}
	if got := mustLoad(t, nil, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("Load with nothing set =\n%+v\nwant\n%+v", got, want)
	}
	fs := flag.NewFlagSet("wabiz", flag.ContinueOnError)
	if got, err := Load(fs, nil, nil); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load with nil getenv = %+v, %v; want defaults", got, err)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "wabiz.conf", "WA_DB_HOSTNAME=from-file\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default", nil, nil, "127.0.0.1"},
		{"file beats default", []string{"--config", file}, nil, "from-file"},
		{"env beats file", []string{"--config", file}, map[string]string{"WA_DB_HOSTNAME": "from-env"}, "from-env"},
		{"flag beats env", []string{"--config", file, "--db-hostname=from-flag"}, map[string]string{"WA_DB_HOSTNAME": "from-env"}, "from-flag"},
		{"empty env counts as unset", []string{"--config", file}, map[string]string{"WA_DB_HOSTNAME": ""}, "from-file"},
		{"config file named by env", nil, map[string]string{ConfigEnv: file}, "from-file"},
		{"--config= disables env config file", []string{"--config="}, map[string]string{ConfigEnv: file}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustLoad(t, tt.args, tt.env).DB.Hostname; got != tt.want {
				t.Errorf("DB.Hostname = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEmptyFlagOverridesEnv(t *testing.T) {
	env := map[string]string{"WABIZ_HTTP_LISTEN": ":8080"}
	if got := mustLoad(t, nil, env).HTTPListen; got != ":8080" {
		t.Fatalf("HTTPListen from env = %q", got)
	}
	if got := mustLoad(t, []string{"--http-listen="}, env).HTTPListen; got != "" {
		t.Errorf("--http-listen= should disable plain HTTP, got %q", got)
	}
}

func TestEmptyFileValueCountsAsUnset(t *testing.T) {
	file := writeFile(t, "wabiz.conf", "WA_WEB_SERVERNAME=\nWABIZ_LOG_LEVEL=\"\"\n")
	c := mustLoad(t, []string{"--config", file}, nil)
	if c.ServerName != "localhost" || c.LogLevel != "info" {
		t.Errorf("empty file values should fall back to defaults, got ServerName=%q LogLevel=%q", c.ServerName, c.LogLevel)
	}
}

func TestSecretFiles(t *testing.T) {
	password := writeFile(t, "db", "pa ss\tword \r\n\n")
	other := writeFile(t, "other", "from-other-file")
	conf := writeFile(t, "wabiz.conf", "WA_DB_PASSWORD_FILE="+password+"\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"env _FILE trims trailing newlines only", nil, map[string]string{"WA_DB_PASSWORD_FILE": password}, "pa ss\tword "},
		{"config file _FILE", []string{"--config", conf}, nil, "pa ss\tword "},
		{"flag -file", []string{"--db-password-file", other}, nil, "from-other-file"},
		{"flag value", []string{"--db-password=direct"}, nil, "direct"},
		{"env value beats config file _FILE", []string{"--config", conf}, map[string]string{"WA_DB_PASSWORD": "env-value"}, "env-value"},
		{"flag -file beats env value", []string{"--db-password-file", other}, map[string]string{"WA_DB_PASSWORD": "env-value"}, "from-other-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustLoad(t, tt.args, tt.env).DB.Password; got != tt.want {
				t.Errorf("DB.Password = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSecretFileErrors(t *testing.T) {
	secretFile := writeFile(t, "key", "topsecretvalue-123")
	bothInFile := writeFile(t, "wabiz.conf", "WA_API_KEY=topsecretvalue-456\nWA_API_KEY_FILE="+secretFile+"\n")
	missing := filepath.Join(t.TempDir(), "missing")
	huge := writeFile(t, "huge", strings.Repeat("x", maxSecretFileBytes+1))
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		contains []string
	}{
		{"both in env", nil, map[string]string{"WA_API_KEY": "topsecretvalue-789", "WA_API_KEY_FILE": secretFile}, []string{"WA_API_KEY_FILE", "not both", "environment"}},
		{"both in config file", []string{"--config", bothInFile}, nil, []string{"WA_API_KEY_FILE", "not both", "line 1", "line 2"}},
		{"both as flags", []string{"--api-key=topsecretvalue-789", "--api-key-file", secretFile}, nil, []string{"WA_API_KEY_FILE", "--api-key-file", "--api-key "}},
		{"missing file", nil, map[string]string{"WA_DB_PASSWORD_FILE": missing}, []string{"WA_DB_PASSWORD_FILE", missing}},
		{"file too large", nil, map[string]string{"WA_WEB_JWT_CRYPTO_KEY_FILE": huge}, []string{"WA_WEB_JWT_CRYPTO_KEY_FILE", "larger than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := load(t, tt.args, tt.env)
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "topsecretvalue") {
				t.Errorf("error %q reveals a secret", err)
			}
		})
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		env, value string
	}{
		{"WABIZ_LISTEN", "9090"},
		{"WABIZ_LISTEN", ":http"},
		{"WABIZ_LISTEN", ":65536"},
		{"WABIZ_LISTEN", "localhost:"},
		{"WABIZ_CORE_MONITOR_LISTEN", "9091"},
		{"WABIZ_PPROF_LISTEN", "6060"},
		{"WABIZ_PPROF_LISTEN", ":6060"},         // every interface: the profiler has no authentication
		{"WABIZ_PPROF_LISTEN", "10.0.0.1:6060"}, // not loopback
		{"WABIZ_HTTP_LISTEN", "localhost"},
		{"WABIZ_HTTP_LISTEN", ":-1"},
		{"WA_WEB_SERVERNAME", "bad_name"},
		{"WA_WEB_SERVERNAME", "a..b"},
		{"WA_WEB_SERVERNAME", "::1"},
		{"WA_WEB_SERVERNAME", strings.Repeat("a.", 127) + "a"},
		{"WA_VERSION", "2.51"},
		{"WA_VERSION", "v2.51.2-beta"},
		{"WABIZ_SETTINGS_REFRESH", "50ms"},
		{"WABIZ_SETTINGS_REFRESH", "11m"},
		{"WABIZ_SETTINGS_REFRESH", "2"},
		{"WABIZ_SHUTDOWN_TIMEOUT", "-1s"},
		{"WABIZ_SHUTDOWN_TIMEOUT", "1h"},
		{"WA_DB_ENGINE", "ORACLE"},
		{"WA_DB_HOSTNAME", "db host"},
		{"WA_DB_PORT", "abc"},
		{"WA_DB_PORT", "0"},
		{"WA_DB_PORT", "65536"},
		{"WA_DB_NAME_PREFIX", "bad-prefix"},
		{"WA_DB_NAME_PREFIX", strings.Repeat("a", 33)},
		{"WA_DB_SSL_VERIFY", "maybe"},
		{"WA_DB_CONNECTION_IDLE_TIMEOUT", "999"},
		{"WA_DB_CONNECTION_IDLE_TIMEOUT", "86400001"},
		{"WA_DB_CONNECTION_IDLE_TIMEOUT", "3m"},
		{"WABIZ_DB_MAX_OPEN_CONNS", "0"},
		{"WABIZ_DB_MAX_OPEN_CONNS", "1001"},
		{"WABIZ_TOKEN_LIFETIME", "59s"},
		{"WABIZ_TOKEN_LIFETIME", "8761h"},
		{"WABIZ_TOKEN_LIFETIME", "week"},
		{"WABIZ_BCRYPT_COST", "3"},
		{"WABIZ_BCRYPT_COST", "17"},
		{"WABIZ_LOGIN_FAILURE_LIMIT", "0"},
		{"WABIZ_SEND_CONCURRENCY", "0"},
		{"WABIZ_SEND_CONCURRENCY", "100001"},
		{"WABIZ_LOGIN_FAILURE_LIMIT", "100001"},
		{"WABIZ_WEBHOOK_ALLOW_HTTP", "sure"},
		{"WABIZ_LOG_LEVEL", "trace"},
		{"WABIZ_LOG_FORMAT", "xml"},
		{"WABIZ_MAX_BODY_BYTES", "1023"},
		{"WABIZ_MAX_BODY_BYTES", "67108865"},
		{"WABIZ_MAX_BODY_BYTES", "1MB"},
		{"WABIZ_HEALTH_RATE_LIMIT", "-1"},
		{"WABIZ_HEALTH_RATE_LIMIT", "100001"},
		{"WABIZ_ROLE", "master"},
		{"WABIZ_NODE_NAME", "a:b"},
		{"WABIZ_NODE_NAME", "node one"},
		{"WABIZ_NODE_NAME", strings.Repeat("n", 65)},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			_, _, err := load(t, nil, map[string]string{tt.env: tt.value})
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.env+": ") || !strings.Contains(msg, fmt.Sprintf("%q", tt.value)) {
				t.Errorf("error %q should start with %s and quote the value", msg, tt.env)
			}
			if !strings.Contains(msg, "must") {
				t.Errorf("error %q should say what is expected", msg)
			}
		})
	}
}

func TestEmptyFlagForRequiredOption(t *testing.T) {
	_, _, err := load(t, []string{"--data-dir="}, nil)
	if err == nil || !strings.Contains(err.Error(), "WABIZ_DATA_DIR") {
		t.Errorf("Load(--data-dir=) error = %v, want one naming WABIZ_DATA_DIR", err)
	}
}

func TestErrorNamesOrigin(t *testing.T) {
	conf := writeFile(t, "wabiz.conf", "# comment\nWA_DB_PORT=abc\n")
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		origin string
	}{
		{"flag", []string{"--db-port=abc"}, nil, "--db-port"},
		{"env", nil, map[string]string{"WA_DB_PORT": "abc"}, "environment"},
		{"file", []string{"--config", conf}, nil, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := load(t, tt.args, tt.env)
			want := `WA_DB_PORT: invalid value "abc"`
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tt.origin) {
				t.Errorf("error = %v, want %q mentioning %q", err, want, tt.origin)
			}
		})
	}
}

func TestEveryBadValueIsReported(t *testing.T) {
	_, _, err := load(t, nil, map[string]string{"WA_DB_PORT": "abc", "WABIZ_BCRYPT_COST": "99"})
	if err == nil || !strings.Contains(err.Error(), "WA_DB_PORT") || !strings.Contains(err.Error(), "WABIZ_BCRYPT_COST") {
		t.Errorf("error = %v, want both bad options reported", err)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	tests := []struct {
		env    string
		secret string
	}{
		{"WA_API_KEY", "short-key"},
		{"WA_API_KEY", "has a space in it"},
		{"WA_API_KEY", strings.Repeat("k", 129)},
		{"WA_WEB_JWT_CRYPTO_KEY", "too-short-jwt-key"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			for _, how := range []string{"env", "flag", "file"} {
				var args []string
				env := map[string]string{}
				switch how {
				case "env":
					env[tt.env] = tt.secret
				case "flag":
					for _, o := range Options() {
						if o.Env == tt.env {
							args = []string{"--" + o.Flag + "=" + tt.secret}
						}
					}
				case "file":
					env[tt.env+"_FILE"] = writeFile(t, "secret", tt.secret+"\n")
				}
				_, _, err := load(t, args, env)
				if err == nil {
					t.Fatalf("%s: Load succeeded, want error", how)
				}
				if !strings.HasPrefix(err.Error(), tt.env+": ") {
					t.Errorf("%s: error %q does not start with %s", how, err, tt.env)
				}
				if strings.Contains(err.Error(), tt.secret) {
					t.Errorf("%s: error %q reveals the secret", how, err)
				}
			}
		})
	}
}

func TestValidValues(t *testing.T) {
	tests := []struct {
		env, value string
		check      func(*Config) bool
	}{
		{"WABIZ_LISTEN", "[::1]:0", func(c *Config) bool { return c.Listen == "[::1]:0" }},
		{"WABIZ_LISTEN", "0.0.0.0:65535", func(c *Config) bool { return c.Listen == "0.0.0.0:65535" }},
		{"WABIZ_HTTP_LISTEN", "127.0.0.1:8080", func(c *Config) bool { return c.HTTPListen == "127.0.0.1:8080" }},
		{"WA_WEB_SERVERNAME", "wa.example-corp.com", func(c *Config) bool { return c.ServerName == "wa.example-corp.com" }},
		{"WA_WEB_SERVERNAME", "10.0.0.7", func(c *Config) bool { return c.ServerName == "10.0.0.7" }},
		{"WA_VERSION", "2.53.1", func(c *Config) bool { return c.APIVersion == "2.53.1" }},
		{"WA_DB_PORT", "65535", func(c *Config) bool { return c.DB.Port == 65535 }},
		{"WA_DB_NAME_PREFIX", "prod_1", func(c *Config) bool { return c.DB.NamePrefix == "prod_1" }},
		{"WA_DB_CONNECTION_IDLE_TIMEOUT", "1000", func(c *Config) bool { return c.DB.ConnIdleTimeout == time.Second }},
		{"WABIZ_LOG_LEVEL", "DEBUG", func(c *Config) bool { return c.LogLevel == "debug" }},
		{"WABIZ_LOG_FORMAT", "Json", func(c *Config) bool { return c.LogFormat == "json" }},
		{"WABIZ_TOKEN_LIFETIME", "8760h", func(c *Config) bool { return c.TokenLifetime == 8760*time.Hour }},
		{"WABIZ_SHUTDOWN_TIMEOUT", "0s", func(c *Config) bool { return c.ShutdownTimeout == 0 }},
		{"WABIZ_HEALTH_RATE_LIMIT", "0", func(c *Config) bool { return c.HealthRateLimit == 0 }},
		{"WABIZ_MAX_BODY_BYTES", "67108864", func(c *Config) bool { return c.MaxBodyBytes == 64<<20 }},
		{"WA_API_KEY", "abcdefghijk!", func(c *Config) bool { return c.APIKey == "abcdefghijk!" }},
		{"WA_WEB_JWT_CRYPTO_KEY", strings.Repeat("j", 32), func(c *Config) bool { return len(c.JWTKey) == 32 }},
		{"WABIZ_NODE_NAME", "core-2.eu_1", func(c *Config) bool { return c.NodeName == "core-2.eu_1" }},
		{"WABIZ_NODE_NAME", strings.Repeat("n", 64), func(c *Config) bool { return len(c.NodeName) == 64 }},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			if c := mustLoad(t, nil, map[string]string{tt.env: tt.value}); !tt.check(c) {
				t.Errorf("value not applied: %+v", c)
			}
		})
	}
}

func TestBooleans(t *testing.T) {
	for _, v := range []string{"1", "true", "TRUE", "yes", "Yes", "on", "ON"} {
		if !mustLoad(t, nil, map[string]string{"WABIZ_WEBHOOK_ALLOW_HTTP": v}).WebhookAllowHTTP {
			t.Errorf("%q should be true", v)
		}
	}
	if !mustLoad(t, []string{"--webhook-allow-http=on"}, nil).WebhookAllowHTTP {
		t.Error("--webhook-allow-http=on should be true")
	}
	for _, v := range []string{"0", "false", "False", "no", "NO", "off", "Off"} {
		if mustLoad(t, nil, map[string]string{"WABIZ_WEBHOOK_ALLOW_HTTP": v}).WebhookAllowHTTP {
			t.Errorf("%q should be false", v)
		}
	}
}

func TestEngineAliases(t *testing.T) {
	tests := map[string]string{
		"sqlite":     "SQLITE",
		"SQLite":     "SQLITE",
		"mysql":      "MYSQL",
		"MYSQL":      "MYSQL",
		"pgsql":      "PGSQL",
		"Postgres":   "PGSQL",
		"POSTGRESQL": "PGSQL",
		"postgresql": "PGSQL",
	}
	for in, want := range tests {
		if got := mustLoad(t, nil, map[string]string{"WA_DB_ENGINE": in}).DB.Engine; got != want {
			t.Errorf("WA_DB_ENGINE=%s: Engine = %q, want %q", in, got, want)
		}
	}
}

func TestSSLVerifyFollowsPaths(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"no SSL options", nil, false},
		{"CA set", map[string]string{"WA_DB_SSL_CA": "ca.pem"}, true},
		{"client pair set", map[string]string{"WA_DB_SSL_CERT": "c.pem", "WA_DB_SSL_KEY": "k.pem"}, true},
		{"explicit off wins", map[string]string{"WA_DB_SSL_CA": "ca.pem", "WA_DB_SSL_VERIFY": "no"}, false},
		{"explicit on without paths", map[string]string{"WA_DB_SSL_VERIFY": "1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustLoad(t, nil, tt.env).DB.SSLVerify; got != tt.want {
				t.Errorf("SSLVerify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	conf := writeFile(t, "wabiz.conf", "\ufeff# wabiz settings\n"+
		"\n"+
		"   # indented comment\n"+
		"WA_DB_ENGINE=postgres\r\n"+
		"WA_DB_HOSTNAME = \"db.internal\"\n"+
		"WA_DB_USERNAME='wa biz'\n"+
		"WA_DB_PASSWORD=\"it's#not=a comment\"\n"+
		"WABIZ_DATA_DIR=/var/lib/wabiz # trailing text is part of the value\n")
	c := mustLoad(t, []string{"--config", conf}, nil)
	if c.DB.Engine != "PGSQL" || c.DB.Hostname != "db.internal" || c.DB.Username != "wa biz" ||
		c.DB.Password != "it's#not=a comment" || c.DataDir != "/var/lib/wabiz # trailing text is part of the value" {
		t.Errorf("config file parsed wrong: %+v", c)
	}

	// A lone quote is not a pair, so it stays part of the value.
	unpaired := writeFile(t, "wabiz.conf", "WA_DB_NAME_PREFIX=\"\n")
	if _, _, err := load(t, []string{"--config", unpaired}, nil); err == nil || !strings.Contains(err.Error(), `WA_DB_NAME_PREFIX: invalid value "\""`) {
		t.Errorf("unpaired quote: error = %v, want WA_DB_NAME_PREFIX validation error", err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		contains []string
	}{
		{"unknown option", "# ok\nWA_DB_ENGINE=MYSQL\nWA_DB_HOST=x\n", []string{"line 3", `unknown option "WA_DB_HOST"`}},
		{"file variant of non-secret", "WA_DB_HOSTNAME_FILE=x\n", []string{"line 1", "WA_DB_HOSTNAME_FILE"}},
		{"config file cannot name itself", "WABIZ_CONFIG=other.conf\n", []string{"line 1", "WABIZ_CONFIG"}},
		{"missing equals", "\nWA_DB_PASSWORD hunter2\n", []string{"line 2", "expected NAME=value"}},
		{"missing name", "=value\n", []string{"line 1", "expected NAME=value"}},
		{"duplicate", "WA_DB_PORT=1\nWA_DB_PORT=2\n", []string{"line 2", "already set on line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := writeFile(t, "wabiz.conf", tt.content)
			_, _, err := load(t, []string{"--config", conf}, nil)
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			for _, s := range append(tt.contains, conf) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q quotes line content", err)
			}
		})
	}

	missing := filepath.Join(t.TempDir(), "absent.conf")
	if _, _, err := load(t, nil, map[string]string{ConfigEnv: missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing config file: error = %v, want one naming %s", err, missing)
	}
}

func TestCombinations(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"TLS pair", map[string]string{"WABIZ_TLS_CERT_FILE": "c.pem", "WABIZ_TLS_KEY_FILE": "k.pem"}, ""},
		{"TLS cert only", map[string]string{"WABIZ_TLS_CERT_FILE": "c.pem"}, "WABIZ_TLS_CERT_FILE is set but WABIZ_TLS_KEY_FILE is not"},
		{"TLS key only", map[string]string{"WABIZ_TLS_KEY_FILE": "k.pem"}, "WABIZ_TLS_KEY_FILE is set but WABIZ_TLS_CERT_FILE is not"},
		{"DB SSL pair", map[string]string{"WA_DB_SSL_CERT": "c.pem", "WA_DB_SSL_KEY": "k.pem"}, ""},
		{"DB SSL CA alone", map[string]string{"WA_DB_SSL_CA": "ca.pem"}, ""},
		{"DB SSL cert only", map[string]string{"WA_DB_SSL_CERT": "c.pem"}, "WA_DB_SSL_CERT is set but WA_DB_SSL_KEY is not"},
		{"DB SSL key only", map[string]string{"WA_DB_SSL_KEY": "k.pem"}, "WA_DB_SSL_KEY is set but WA_DB_SSL_CERT is not"},
		{"web role on PostgreSQL", map[string]string{"WABIZ_ROLE": "web", "WA_DB_ENGINE": "PGSQL"}, ""},
		{"core role on MySQL", map[string]string{"WABIZ_ROLE": "CORE", "WA_DB_ENGINE": "MYSQL"}, ""},
		{"all roles on SQLite", map[string]string{"WABIZ_ROLE": "all"}, ""},
		{"web role on SQLite", map[string]string{"WABIZ_ROLE": "web"}, "WABIZ_ROLE=web needs a database several nodes share (WA_DB_ENGINE=PGSQL or MYSQL); SQLite is for one node, which runs with WABIZ_ROLE=all"},
		{"core role on SQLite", map[string]string{"WABIZ_ROLE": "core", "WA_DB_ENGINE": "SQLITE"}, "WABIZ_ROLE=core needs a database several nodes share"},
		{"core monitoring listener", map[string]string{"WABIZ_ROLE": "core", "WA_DB_ENGINE": "PGSQL", "WABIZ_CORE_MONITOR_LISTEN": "127.0.0.1:9091"}, ""},
		{"monitoring listener on a web node", map[string]string{"WABIZ_ROLE": "web", "WA_DB_ENGINE": "PGSQL", "WABIZ_CORE_MONITOR_LISTEN": "127.0.0.1:9091"},
			"WABIZ_CORE_MONITOR_LISTEN is for WABIZ_ROLE=core; WABIZ_ROLE=web serves /v1/health and /metrics on WABIZ_LISTEN"},
		{"monitoring listener on one node", map[string]string{"WABIZ_CORE_MONITOR_LISTEN": "127.0.0.1:9091"}, "WABIZ_CORE_MONITOR_LISTEN is for WABIZ_ROLE=core; WABIZ_ROLE=all serves"},
		{"profiler on loopback", map[string]string{"WABIZ_PPROF_LISTEN": "127.0.0.1:6060"}, ""},
		{"profiler on IPv6 loopback", map[string]string{"WABIZ_PPROF_LISTEN": "[::1]:6060"}, ""},
		{"profiler on every interface", map[string]string{"WABIZ_PPROF_LISTEN": "0.0.0.0:6060"}, "must be on a loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := load(t, nil, tt.env)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestFlagParsing(t *testing.T) {
	if _, _, err := load(t, []string{"--no-such-flag=1"}, nil); err == nil || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("unknown flag: error = %v", err)
	}
	if _, _, err := load(t, []string{"-h"}, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: error = %v, want flag.ErrHelp", err)
	}
	c, fs, err := load(t, []string{"-db-port", "5433", "--listen=:8443", "serve", "--extra"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DB.Port != 5433 || c.Listen != ":8443" {
		t.Errorf("flags not applied: %+v", c)
	}
	if got := fs.Args(); !reflect.DeepEqual(got, []string{"serve", "--extra"}) {
		t.Errorf("fs.Args() = %q", got)
	}
}

func TestSQLitePath(t *testing.T) {
	c := Default()
	c.DataDir = "data"
	if got, want := c.SQLitePath(), filepath.Join("data", "wabiz.db"); got != want {
		t.Errorf("SQLitePath() = %q, want %q", got, want)
	}
	c = mustLoad(t, nil, map[string]string{"WABIZ_SQLITE_PATH": "other.db"})
	if got := c.SQLitePath(); got != "other.db" {
		t.Errorf("SQLitePath() with override = %q", got)
	}
}

func TestOptionTable(t *testing.T) {
	envs := map[string]bool{ConfigEnv: true}
	flags := map[string]bool{ConfigFlag: true}
	claim := func(seen map[string]bool, name, kind string) {
		t.Helper()
		if seen[name] {
			t.Errorf("%s %q used twice", kind, name)
		}
		seen[name] = true
	}
	for _, o := range Options() {
		claim(envs, o.Env, "env")
		claim(flags, o.Flag, "flag")
		if o.Secret {
			claim(envs, o.Env+"_FILE", "env")
			claim(flags, o.Flag+"-file", "flag")
		}
		if o.Help == "" || strings.Contains(o.Help, "\n") {
			t.Errorf("%s: Help must be one non-empty line", o.Env)
		}
		if o.set == nil {
			t.Errorf("%s: no setter", o.Env)
			continue
		}
		if err := o.set(Default(), o.Default); err != nil {
			t.Errorf("%s: default %q fails its own validation: %v", o.Env, o.Default, err)
		}
	}
}

func TestSSLVerifyOrderedAfterPaths(t *testing.T) {
	index := map[string]int{}
	for i, o := range Options() {
		index[o.Env] = i
	}
	for _, path := range []string{"WA_DB_SSL_CA", "WA_DB_SSL_CERT", "WA_DB_SSL_KEY"} {
		if index[path] > index["WA_DB_SSL_VERIFY"] {
			t.Errorf("%s must come before WA_DB_SSL_VERIFY, whose default depends on it", path)
		}
	}
}

func TestDocsListEveryOption(t *testing.T) {
	data, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, o := range Options() {
		// The option's table row must carry its env var, flag and default,
		// so a change to any of them forces a docs update.
		var row string
		for _, line := range lines {
			if strings.HasPrefix(line, "| `"+o.Env+"`") {
				row = line
				break
			}
		}
		if row == "" {
			t.Errorf("docs/configuration.md has no table row for %s", o.Env)
			continue
		}
		if !strings.Contains(row, "`--"+o.Flag+"`") {
			t.Errorf("docs row for %s does not name flag --%s", o.Env, o.Flag)
		}
		if o.Default != "" && !strings.Contains(row, "`"+o.Default+"`") {
			t.Errorf("docs row for %s does not show default %q", o.Env, o.Default)
		}
	}
}
