package doctor

import (
	"net/url"
	"sort"
	"strings"
)

// redacted stands in for a secret removed from output.
const redacted = "(redacted)"

// redactURL shows a URL without what may be a credential: the user
// information and the query values (receivers often take a token in the
// query string).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(redacted)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{redacted}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment = ""
	return u.String()
}

// urlSecrets are the parts of a URL redactURL removes.
func urlSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return []string{raw}
	}
	var out []string
	if u.User != nil {
		out = append(out, u.User.Username())
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	for _, vs := range u.Query() {
		out = append(out, vs...)
	}
	return out
}

// minScrubbed is the shortest secret scrubbed from free text: replacing a
// one- or two-letter value everywhere would mangle the text and hide
// nothing anyone could not guess.
const minScrubbed = 4

// secrets are every secret value this run knows: the configured ones and
// the webhook URL's credentials.
func (r *run) secrets() []string {
	out := r.o.Config.SecretValues()
	if r.settings != nil && r.settings.Webhooks.URL != "" {
		out = append(out, urlSecrets(r.settings.Webhooks.URL)...)
	}
	// Longest first, so a secret that contains another goes whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// scrub removes every known secret from text meant for a report: error
// messages of drivers and HTTP clients may quote what they were given.
func (r *run) scrub(text string) string {
	for _, s := range r.secrets() {
		if len(s) >= minScrubbed {
			text = strings.ReplaceAll(text, s, redacted)
			text = strings.ReplaceAll(text, url.QueryEscape(s), redacted)
		}
	}
	return text
}
