package doctor

import (
	"net/http"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
)

// onCloud points s at a Graph API double with a token it accepts.
func onCloud(t *testing.T, s *setup) *graphtest.Server {
	g := graphtest.New(t)
	c := s.opts.Config
	c.Network = "cloud"
	c.Cloud.GraphURL = g.GraphURL()
	c.Cloud.PhoneNumberID, c.Cloud.WABAID = g.PhoneNumberID, g.WABAID
	c.Cloud.AccessToken, c.Cloud.AppSecret, c.Cloud.VerifyToken = g.Token, "app-secret-of-the-test", "verify-token-of-the-test"
	return g
}

func TestCloudToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		arrange func(t *testing.T, s *setup, g *graphtest.Server)
		status  Status
		parts   []string
	}{
		{"valid, never expires", func(*testing.T, *setup, *graphtest.Server) {}, OK,
			[]string{"system_user token", "whatsapp_business_messaging", "never expires"}},
		{"valid for weeks", func(t *testing.T, s *setup, g *graphtest.Server) {
			g.SetTokenExpiry(time.Now().Add(40 * 24 * time.Hour))
		}, OK, []string{"expires 20"}},
		{"expires within a week", func(t *testing.T, s *setup, g *graphtest.Server) {
			g.SetTokenExpiry(time.Now().Add(30 * time.Hour))
		}, Warn, []string{"expires in 30 hours"}},
		{"refused token", func(t *testing.T, s *setup, g *graphtest.Server) {
			s.opts.Config.Cloud.AccessToken = "revoked-token"
		}, Fail, []string{"code 190", "replace WABIZ_CLOUD_ACCESS_TOKEN"}},
		{"missing permission", func(t *testing.T, s *setup, g *graphtest.Server) {
			g.SetTokenScopes("whatsapp_business_messaging")
		}, Fail, []string{"lacks the permission whatsapp_business_management"}},
		{"no permission at all", func(t *testing.T, s *setup, g *graphtest.Server) {
			g.SetTokenScopes()
		}, Fail, []string{"whatsapp_business_messaging, whatsapp_business_management", "no permissions"}},
		{"phone number not readable", func(t *testing.T, s *setup, g *graphtest.Server) {
			s.opts.Config.Cloud.PhoneNumberID = "999"
		}, Fail, []string{"cannot read phone number 999"}},
		{"token not set", func(t *testing.T, s *setup, g *graphtest.Server) {
			s.opts.Config.Cloud.AccessToken = ""
		}, Fail, []string{"WABIZ_CLOUD_ACCESS_TOKEN is not set"}},
		{"Graph API unreachable", func(t *testing.T, s *setup, g *graphtest.Server) {
			s.opts.Config.Cloud.GraphURL = "http://" + closedPort(t) + "/v21.0"
		}, Fail, []string{"Graph API unreachable", "connection refused"}},
		{"Graph API hangs", func(t *testing.T, s *setup, g *graphtest.Server) {
			g.FailNext(1, graphtest.Failure{Stall: true})
			s.opts.Timeout = 200 * time.Millisecond
			s.opts.GraphClient = &http.Client{}
		}, Fail, []string{"no answer within 200ms"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, store.SQLite)
			healthy(t, s)
			g := onCloud(t, s)
			tc.arrange(t, s, g)
			rep := s.run()
			expect(t, rep, CheckCloudToken, tc.status, tc.parts...)
			for _, c := range rep.Checks {
				if c.Name != CheckCloudToken && c.Status != OK {
					t.Errorf("%s = %s (%s)", c.Name, c.Status, c.Detail)
				}
			}
		})
	}
}
