package config

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// Every option marked Secret must be in SecretValues and must never show
// its value in LoadEffective's listing: a secret added to the table
// without both would leak into wabiz doctor's support bundle.
func TestEffectiveSettingsHideEverySecret(t *testing.T) {
	t.Parallel()
	env := map[string]string{"WABIZ_NETWORK": "cloud", "WABIZ_CLOUD_PHONE_NUMBER_ID": "1", "WABIZ_CLOUD_WABA_ID": "2"}
	var secrets []string
	for i, o := range Options() {
		if o.Secret {
			v := fmt.Sprintf("secret-value-%02d-0123456789abcdef", i)
			env[o.Env] = v
			secrets = append(secrets, v)
		}
	}
	if len(secrets) == 0 {
		t.Fatal("the option table marks no secret")
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, settings, err := LoadEffective(fs, nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(settings) != len(Options()) {
		t.Errorf("%d settings for %d options", len(settings), len(Options()))
	}
	got := c.SecretValues()
	for _, v := range secrets {
		if !slices.Contains(got, v) {
			t.Errorf("SecretValues misses %q", v)
		}
	}
	for _, s := range settings {
		for _, v := range secrets {
			if strings.Contains(s.Value, v) || strings.Contains(s.Origin, v) {
				t.Errorf("%s shows a secret: %+v", s.Env, s)
			}
		}
		if s.Secret && s.Value != RedactedValue {
			t.Errorf("%s: a set secret shows %q, want %q", s.Env, s.Value, RedactedValue)
		}
		if s.Env == "WABIZ_NETWORK" && (s.Value != "cloud" || s.Origin != "environment") {
			t.Errorf("WABIZ_NETWORK = %+v, want cloud from the environment", s)
		}
		if s.Env == "WABIZ_LISTEN" && (s.Value != ":9090" || s.Origin != "default") {
			t.Errorf("WABIZ_LISTEN = %+v, want the default", s)
		}
	}
}
