package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// How fresh the core's template catalogue is: what a send made right after
// a change meets (docs/decisions.md, Templates).

const templateMissing = "Template name does not exist in the translation"

// templateSend is a template send of name in language en without
// parameters.
func templateSend(ns, name string) string {
	return `{"to":"` + customer + `","type":"template","template":{"namespace":"` + ns + `","name":"` + name + `",` +
		`"language":{"policy":"deterministic","code":"en"}}}`
}

func (h *harness) sendStatus(admin, body string) response {
	h.t.Helper()
	return h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin), body: body})
}

// TestSandboxTemplateChangesApplyAtOnce: a send made after a sandbox
// catalogue call has returned meets the change — a template created is
// sent, an edit, a pause and a delete refuse — with no reload waited for.
// The clock stands still after a first miss, so the reload a miss may cause
// is spent: only the sandbox's word to the core can bring the changes.
func TestSandboxTemplateChangesApplyAtOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		h.register(admin)
		do := func(method, path, body string) response {
			return h.do(request{method: method, path: path, body: body, header: bearer(admin)})
		}
		ns, _ := templatesOf(t, do("GET", templatesPath, ""))
		welcome := templateSend(ns, "welcome")

		expectError(t, h.sendStatus(admin, welcome), 404,
			e(2001, templateMissing, "Template 'welcome' in language 'en' of namespace '"+ns+"' does not exist: the account has no templates"))

		if res := do("POST", templatesPath, simpleTemplate("welcome", "en")); res.Status != 201 {
			t.Fatalf("create: %d %s", res.Status, res.Raw)
		}
		id := h.send(admin, welcome)
		h.pump()
		if got := h.phone(admin, customer)[id]; got["rendered"] != "Hello" {
			t.Fatalf("the customer's phone shows %v", got)
		}

		if res := do("PATCH", templatesPath+"/welcome/en", `{"components":[{"type":"BODY","text":"Hello {{1}}"}]}`); res.Status != 200 {
			t.Fatalf("edit: %d %s", res.Status, res.Raw)
		}
		if got := h.sendStatus(admin, welcome).errorsList(); len(got) != 1 || got[0].Code != 2000 {
			t.Fatalf("a send without the parameter the edit added: %+v", got)
		}

		if res := do("PATCH", templatesPath+"/welcome/en", `{"status":"PAUSED"}`); res.Status != 200 {
			t.Fatalf("pause: %d %s", res.Status, res.Raw)
		}
		expectError(t, h.sendStatus(admin, welcome), 400, e(2061, "Template Paused", "Template 'welcome' (en) in namespace '"+ns+"' is paused"))

		if res := do("DELETE", templatesPath+"/welcome/en", ""); res.Status != 200 {
			t.Fatalf("delete: %d %s", res.Status, res.Raw)
		}
		expectError(t, h.sendStatus(admin, welcome), 404,
			e(2001, templateMissing, "Template 'welcome' in language 'en' of namespace '"+ns+"' does not exist: the account has no templates"))

		if n := strings.Count(h.logText(), "message templates reloaded for a send the catalogue could not serve"); n != 1 {
			t.Fatalf("%d reloads after a miss, want the first one only", n)
		}
	})
}

// TestSandboxTemplateChangeFromAnotherProcess: a change made through
// another process's sandbox (an API node of its own, sharing the database)
// reaches this core through the database's change count: RefreshTemplates,
// which the core runs every second, sees it and reloads; when nothing
// changed it reads the count only.
func TestSandboxTemplateChangeFromAnotherProcess(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		h.register(admin)
		ctx := context.Background()
		elsewhere := sandbox.New(h.store, h.clock.Now)
		ns, err := elsewhere.Namespace(ctx)
		if err != nil {
			t.Fatal(err)
		}
		welcome := templateSend(ns, "welcome")
		if _, err := elsewhere.AddTemplate(ctx, json.RawMessage(simpleTemplate("welcome", "en"))); err != nil {
			t.Fatal(err)
		}
		refresh := func(want bool) {
			t.Helper()
			if reloaded, err := h.core.RefreshTemplates(ctx); err != nil || reloaded != want {
				t.Fatalf("RefreshTemplates = %v, %v; want %v", reloaded, err, want)
			}
		}
		refresh(true)
		h.send(admin, welcome)
		refresh(false)

		if _, err := elsewhere.UpdateTemplate(ctx, "welcome", "en", map[string]json.RawMessage{"status": json.RawMessage(`"PAUSED"`)}); err != nil {
			t.Fatal(err)
		}
		h.send(admin, welcome) // this process has not been told
		refresh(true)
		if got := h.sendStatus(admin, welcome).errorsList(); len(got) != 1 || got[0].Code != 2061 {
			t.Fatalf("after the refresh: %+v", got)
		}
	})
}

// templateFetches counts the catalogue reads the Graph double served.
func templateFetches(graph *graphtest.Server) int {
	n := 0
	for _, r := range graph.Requests() {
		if r == "GET "+graphtest.Version+"/"+graph.WABAID+"/message_templates" {
			n++
		}
	}
	return n
}

func cloudTemplate(name, status string) map[string]any {
	return map[string]any{"name": name, "language": "en", "category": "UTILITY", "status": status,
		"components": []any{map[string]any{"type": "BODY", "text": "Hello from " + name}}}
}

// TestCloudTemplateApprovedAfterLoadIsSentAtOnce: in cloud mode a template
// approved in WhatsApp Manager after the core loaded the catalogue is sent
// at once, whether the catalogue lacked it or held it as pending: the send
// that misses reloads the catalogue (one fetch) and is accepted, and goes
// out to the Cloud.
func TestCloudTemplateApprovedAfterLoadIsSentAtOnce(t *testing.T) {
	t.Parallel()
	graph := graphtest.New(t)
	graph.PageSize = 100 // one page per fetch
	graph.AddTemplate(cloudTemplate("welcome", "PENDING"))
	s := newCloudSetupOn(t, graph)
	h, admin := s.harness, s.admin
	loads := templateFetches(graph)

	graph.AddTemplate(cloudTemplate("order_update", "APPROVED"))
	h.send(admin, templateSend(graph.Namespace, "order_update"))
	if n := templateFetches(graph); n != loads+1 {
		t.Fatalf("%d catalogue fetches for the send, want 1", n-loads)
	}
	h.pump()
	if sends := graph.Sends(); len(sends) != 1 || sends[0]["template"].(map[string]any)["name"] != "order_update" {
		t.Fatalf("sent to the Cloud: %v", sends)
	}

	// Pending when loaded, approved since (the Graph lists the newer state
	// last). The first miss's period has not passed: the pending answer.
	graph.AddTemplate(cloudTemplate("welcome", "APPROVED"))
	welcome := templateSend(graph.Namespace, "welcome")
	expectError(t, h.sendStatus(admin, welcome), 404,
		e(2001, templateMissing, "Template 'welcome' (en) in namespace '"+graph.Namespace+"' is pending review and cannot be sent yet"))
	h.clock.Advance(5 * time.Second)
	h.send(admin, welcome)
	if n := templateFetches(graph); n != loads+2 {
		t.Fatalf("%d catalogue fetches, want 2", n-loads)
	}
}

// TestTemplateMissReloadsAreBounded: a flood of sends naming a template
// that does not exist — at once and one after another — costs the Cloud one
// catalogue fetch per 5 seconds, and every send is answered 2001 naming
// what is missing; a fetch that fails leaves the answer as it was.
func TestTemplateMissReloadsAreBounded(t *testing.T) {
	t.Parallel()
	graph := graphtest.New(t)
	graph.PageSize = 100
	graph.AddTemplate(cloudTemplate("welcome", "APPROVED"))
	s := newCloudSetupOn(t, graph)
	h, admin := s.harness, s.admin
	loads := templateFetches(graph)
	nope := templateSend(graph.Namespace, "nope")
	missing := e(2001, templateMissing, "Template 'nope' in language 'en' of namespace '"+graph.Namespace+"' does not exist")
	expectFetches := func(want int, when string) {
		t.Helper()
		if n := templateFetches(graph) - loads; n != want {
			t.Fatalf("%s: %d catalogue fetches, want %d", when, n, want)
		}
	}

	var wg sync.WaitGroup
	answers := make(chan response, 20)
	for range 20 {
		wg.Go(func() { answers <- h.sendStatus(admin, nope) })
	}
	wg.Wait()
	close(answers)
	for res := range answers {
		expectError(t, res, 404, missing)
	}
	expectFetches(1, "20 sends at once")

	for range 20 {
		expectError(t, h.sendStatus(admin, nope), 404, missing)
	}
	h.clock.Advance(5*time.Second - time.Millisecond)
	expectError(t, h.sendStatus(admin, nope), 404, missing)
	expectFetches(1, "sends within 5 s")

	h.clock.Advance(time.Millisecond)
	expectError(t, h.sendStatus(admin, nope), 404, missing)
	expectFetches(2, "a send 5 s after the first miss")

	// A known template costs nothing, in or out of the period.
	h.clock.Advance(5 * time.Second)
	h.send(admin, templateSend(graph.Namespace, "welcome"))
	expectFetches(2, "a send of a known template")

	// The Graph fails the reload (its namespace and its list): the
	// catalogue in force answers.
	graph.FailNext(2, graphtest.Failure{HTTPStatus: 500, Code: 2, Message: "Service temporarily unavailable"})
	expectError(t, h.sendStatus(admin, nope), 404, missing)
	h.send(admin, templateSend(graph.Namespace, "welcome"))
	if !strings.Contains(h.logText(), "reloading message templates for a send the catalogue could not serve failed") {
		t.Fatalf("the failed reload is not logged:\n%s", h.logText())
	}
}
