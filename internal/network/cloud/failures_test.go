package cloud_test

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
)

// TestGraphFailuresOfASend: each way a send can fail at the Graph gives
// the On-Premises error, a log line that names it, and the retry rule that
// never sends a message twice blindly: a timeout or a 5xx (the request went
// out) holds the message; a throttled or refused call sent nothing and may
// go again at once.
func TestGraphFailuresOfASend(t *testing.T) {
	for _, c := range []struct {
		name      string
		failure   graphtest.Failure
		code      int
		temporary bool
		held      bool // a retry at once makes no call
		log       string
	}{
		{"timeout", graphtest.Failure{Stall: true}, 1014, true, true, "the outcome of a send is unknown"},
		{"5xx", graphtest.Failure{HTTPStatus: 500, Code: 131000, Message: "Something went wrong"}, 1014, true, true, "the outcome of a send is unknown"},
		{"503 of a proxy", graphtest.Failure{HTTPStatus: 503, Raw: "<html>upstream unavailable</html>"}, 1014, true, true, "the outcome of a send is unknown"},
		{"429 of a proxy", graphtest.Failure{HTTPStatus: 429, Raw: "slow down"}, 1015, true, false, "the Cloud API is throttling sends"},
		{"429 throughput", graphtest.Failure{HTTPStatus: 429, Code: 130429, Message: "Rate limit hit"}, 1015, true, false, "the Cloud API is throttling sends"},
		{"400 throughput", graphtest.Failure{Code: 130429, Message: "Rate limit hit"}, 1015, true, false, "the Cloud API is throttling sends"},
		{"expired token", graphtest.Failure{HTTPStatus: 401, Code: 190, Subcode: 463, Message: "Error validating access token: Session has expired"}, 1005, false, false, "replace WABIZ_CLOUD_ACCESS_TOKEN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs logBuffer
			f := setup(t, func(o *cloud.Options) {
				o.Log = slog.New(slog.NewTextHandler(&logs, nil))
				o.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
			})
			f.graph.FailNext(1, c.failure)
			wantNetErr(t, f.net.Send(f.ctx, text("gBF1", "15550001111")), c.code, c.temporary)
			if !strings.Contains(logs.String(), c.log) {
				t.Fatalf("no %q in the log:\n%s", c.log, logs.String())
			}
			calls := len(f.graph.Sends())
			err := f.net.Send(f.ctx, text("gBF1", "15550001111"))
			switch {
			case c.held:
				wantNetErr(t, err, 1014, true)
				if len(f.graph.Sends()) != calls {
					t.Fatalf("a send of unknown outcome went again within the hold")
				}
			case err != nil || len(f.graph.Sends()) != calls+1:
				t.Fatalf("retry: %v, %d calls (want one more)", err, len(f.graph.Sends()))
			}
		})
	}
}

// TestRefusedTokenIsLoggedOncePerMinute: every call fails while the token
// is expired; the log says so once a minute, not once per call.
func TestRefusedTokenIsLoggedOncePerMinute(t *testing.T) {
	var logs logBuffer
	f := setup(t, func(o *cloud.Options) { o.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
	expired := graphtest.Failure{HTTPStatus: 401, Code: 190, Message: "Session has expired"}
	f.graph.FailNext(3, expired)
	for range 3 {
		wantNetErr(t, f.net.MarkRead(f.ctx, "15550001111", "wamid.X"), 1005, false)
	}
	if n := strings.Count(logs.String(), "refused the access token"); n != 1 {
		t.Fatalf("%d log lines for 3 refusals within a minute", n)
	}
	*f.now = f.now.Add(time.Minute)
	f.graph.FailNext(1, expired)
	f.net.MarkRead(f.ctx, "15550001111", "wamid.X")
	if n := strings.Count(logs.String(), "refused the access token"); n != 2 {
		t.Fatalf("%d log lines after a minute", n)
	}
}

// TestDeliveryNotStoredIsNotAcknowledged: when the database cannot take a
// delivery, HandleWebhook fails (the HTTP layer answers 500), so Meta
// delivers it again: nothing is acknowledged that was not stored.
func TestDeliveryNotStoredIsNotAcknowledged(t *testing.T) {
	f := setup(t)
	f.store.Close()
	body, sig := f.graph.Delivery(secret, map[string]any{"messages": []any{map[string]any{"from": "15550001111", "id": "wamid.KEEP",
		"timestamp": "1700000100", "type": "text", "text": map[string]any{"body": "oi"}}}})
	err := f.net.HandleWebhook(f.ctx, body, sig)
	var se *cloud.SignatureError
	var pe *cloud.PayloadError
	if err == nil || errors.As(err, &se) || errors.As(err, &pe) {
		t.Fatalf("a delivery the store refused: %v", err)
	}
}

// TestProbeConnection: the probe is one GET of the phone number; only an
// answer that is not the Graph's (a proxy's 5xx page, no answer) counts as
// the connection lost: a refusal in the Graph's words shows it answering.
func TestProbeConnection(t *testing.T) {
	f := setup(t)
	probe := "GET " + graphtest.Version + "/" + f.graph.PhoneNumberID
	if err := f.net.ProbeConnection(f.ctx); err != nil || f.graph.Requests()[0] != probe || len(f.graph.Requests()) != 1 {
		t.Fatalf("probe: %v, requests %v", err, f.graph.Requests())
	}
	f.graph.FailNext(1, graphtest.Failure{HTTPStatus: 503, Raw: "<html>upstream unavailable</html>"})
	if err := f.net.ProbeConnection(f.ctx); !network.IsConnectionLoss(err) {
		t.Fatalf("a load balancer's 503 page: %v", err)
	}
	f.graph.FailNext(1, graphtest.Failure{HTTPStatus: 401, Code: 190, Message: "Session has expired"})
	err := f.net.ProbeConnection(f.ctx)
	if wantNetErr(t, err, 1005, false); network.IsConnectionLoss(err) {
		t.Fatalf("a refused token counted as a lost connection: %v", err)
	}
}
