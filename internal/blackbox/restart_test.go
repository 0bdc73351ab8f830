package blackbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wabiz/wabiz/internal/store"
)

const (
	opsUser = "ops_team"
	opsPass = "Ops.Team#2024"
)

// TestRestartKeepsUsersTokensSettings checks that everything an operator set
// up lives in the database and the data directory, not in the process: users,
// tokens (and revocations), settings and the self-signed certificate survive
// a graceful stop and a crash. The first-party stickerpack each start makes
// sure of keeps its ids and is not made twice.
func TestRestartKeepsUsersTokensSettings(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine store.Dialect) {
		in := newInstance(t, engine)
		c := in.start()
		admin := bearer(login(t, c, "admin", "secret", adminPass))

		c.do(t, "POST", "/v1/users", admin, map[string]string{"username": opsUser, "password": opsPass}).expect(t, 201)
		t2 := bearer(login(t, c, opsUser, opsPass, ""))
		t3 := bearer(login(t, c, opsUser, opsPass, ""))
		loggedOut := bearer(login(t, c, opsUser, opsPass, ""))
		c.do(t, "POST", "/v1/users/logout", loggedOut, nil).expect(t, 200)
		c.do(t, "GET", "/v1/users/"+opsUser, loggedOut, nil).expect(t, 401)

		c.do(t, "PATCH", "/v1/settings/application", admin,
			`{"sent_status":true,"webhooks":{"url":"https://hooks.example.org/restart","max_concurrent_requests":12}}`).expect(t, 200)

		caPEM := readCA(t, in.dataDir)
		leaf := c.do(t, "GET", "/v1/health", admin, nil).expect(t, 200).leaf
		stickers := firstPartyPack(t, c, admin)

		var sessions []string // tokens issued after a restart, for the deletion check
		for _, round := range []struct {
			name string
			down func()
		}{
			{"SIGTERM", in.stop},
			{"SIGKILL", in.crash},
		} {
			t.Logf("restart after %s", round.name)
			round.down()
			c = in.start()

			if !bytes.Equal(readCA(t, in.dataDir), caPEM) {
				t.Fatalf("after %s: ca.pem changed", round.name)
			}
			if got := firstPartyPack(t, c, admin); got != stickers {
				t.Errorf("after %s: the first-party pack is %s, was %s", round.name, got, stickers)
			}
			r := c.do(t, "GET", "/v1/settings/application", admin, nil).expect(t, 200)
			if fingerprint(r.leaf) != fingerprint(leaf) {
				t.Errorf("after %s: the server certificate changed", round.name)
			}
			if got := r.get("settings", "application", "sent_status"); got != true {
				t.Errorf("after %s: sent_status %v, want true", round.name, got)
			}
			if got := r.get("settings", "application", "webhooks", "url"); got != "https://hooks.example.org/restart" {
				t.Errorf("after %s: webhooks.url %v", round.name, got)
			}
			if got := r.get("settings", "application", "webhooks", "max_concurrent_requests"); got != json.Number("12") {
				t.Errorf("after %s: webhooks.max_concurrent_requests %v, want 12", round.name, got)
			}

			r = c.do(t, "GET", "/v1/users/"+opsUser, t2, nil).expect(t, 200)
			if got := r.get("users", "0", "ROLES"); got != "ROLE_USER" {
				t.Errorf("after %s: ROLES %v", round.name, got)
			}
			c.do(t, "GET", "/v1/users/"+opsUser, t3, nil).expect(t, 200)
			c.do(t, "GET", "/v1/users/"+opsUser, loggedOut, nil).
				expectError(t, 401, 1005, "Invalid credentials.")

			// The admin's password change survived too: no second change asked.
			c.do(t, "POST", "/v1/users/login", basic("admin", adminPass), nil).expect(t, 200)
			sessions = append(sessions, bearer(login(t, c, opsUser, opsPass, "")))
		}

		// Logging out revokes exactly that token.
		c.do(t, "POST", "/v1/users/logout", t2, nil).expect(t, 200)
		c.do(t, "GET", "/v1/users/"+opsUser, t2, nil).expectError(t, 401, 1005, "Invalid credentials.")
		c.do(t, "GET", "/v1/users/"+opsUser, t3, nil).expect(t, 200)

		// Deleting the user revokes every token it holds.
		c.do(t, "DELETE", "/v1/users/"+opsUser, admin, nil).expect(t, 200)
		for _, tok := range append([]string{t3}, sessions...) {
			c.do(t, "GET", "/v1/health", tok, nil).expectError(t, 401, 1005, "Invalid credentials.")
		}
		c.do(t, "POST", "/v1/users/login", basic(opsUser, opsPass), nil).expect(t, 401)

		// And the deletion survives a restart as well.
		in.stop()
		c = in.start()
		c.do(t, "GET", "/v1/health", t3, nil).expect(t, 401)
		c.do(t, "GET", "/v1/users/"+opsUser, admin, nil).expectError(t, 404, 1006, "User does not exist")
		in.stop()
	})
}

// firstPartyPack describes the one first-party stickerpack by its id and
// its first sticker (id and emojis).
func firstPartyPack(t testing.TB, c *client, auth string) string {
	t.Helper()
	r := c.do(t, "GET", "/v1/stickerpacks?namespace=whatsapp", auth, nil).expect(t, 200)
	packs, _ := r.get("stickerpacks").([]any)
	id, _ := r.get("stickerpacks", "0", "id").(string)
	if len(packs) != 1 || id == "" {
		t.Fatalf("first-party packs: %s", r.raw)
	}
	r = c.do(t, "GET", "/v1/stickerpacks/"+id+"/stickers/0?namespace=whatsapp", auth, nil).expect(t, 200)
	return fmt.Sprintf("%s %v", id, r.get("stickers"))
}

// login returns a token for user; newPassword, if not empty, is sent as
// new_password.
func login(t testing.TB, c *client, user, password, newPassword string) string {
	t.Helper()
	var body any
	if newPassword != "" {
		body = map[string]string{"new_password": newPassword}
	}
	r := c.do(t, "POST", "/v1/users/login", basic(user, password), body).expect(t, 200)
	token, _ := r.get("users", "0", "token").(string)
	if token == "" {
		t.Fatalf("login %s: no token in %s", user, r.raw)
	}
	return token
}

func readCA(t testing.TB, dataDir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
