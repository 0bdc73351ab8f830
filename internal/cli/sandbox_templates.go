package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/wabiz/wabiz/internal/network/sandbox"
)

// runTemplates is 'wabiz sandbox templates [add|status|delete ...]': one
// command with verbs, because the catalogue is one resource and its verbs
// read naturally after it.
func runTemplates(ctx context.Context, s *sandboxSession, args []string) error {
	if len(args) == 0 {
		return listTemplates(ctx, s)
	}
	verb, rest := args[0], args[1:]
	want := map[string]int{"add": 1, "status": 3, "delete": 2}
	n, known := want[verb]
	if !known {
		return fmt.Errorf("templates: unknown command %q; usage: wabiz sandbox templates [add FILE | status NAME LANGUAGE STATUS | delete NAME LANGUAGE]", verb)
	}
	if len(rest) != n {
		usage := map[string]string{"add": "add FILE", "status": "status NAME LANGUAGE STATUS", "delete": "delete NAME LANGUAGE"}
		return fmt.Errorf("usage: wabiz sandbox templates %s", usage[verb])
	}
	switch verb {
	case "add":
		defs, err := sandbox.ReadTemplateFile(rest[0])
		if err != nil {
			return fmt.Errorf("template file %s: %w", rest[0], err)
		}
		added, err := s.api.SandboxAddTemplates(ctx, defs)
		if err != nil {
			return err
		}
		for _, t := range added {
			s.printf("added %s (%s), %s, %s\n", t.Name, t.Language, t.Category, t.Status)
		}
	case "status":
		t, err := s.api.SandboxSetTemplateStatus(ctx, rest[0], rest[1], rest[2])
		if err != nil {
			return err
		}
		s.printf("%s (%s) is now %s; sends made from now on see it\n", t.Name, t.Language, t.Status)
	case "delete":
		if err := s.api.SandboxDeleteTemplate(ctx, rest[0], rest[1]); err != nil {
			return err
		}
		s.printf("%s (%s) deleted\n", rest[0], rest[1])
	}
	return nil
}

func listTemplates(ctx context.Context, s *sandboxSession) error {
	ns, list, err := s.api.SandboxTemplates(ctx)
	if err != nil || s.json {
		return err
	}
	s.printf("namespace: %s\n", ns)
	if len(list) == 0 {
		s.printf("no templates yet: add some with 'wabiz sandbox templates add FILE' (docs/examples/sandbox-templates.json is a sample)\n")
		return nil
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLANGUAGE\tCATEGORY\tSTATUS")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Language, t.Category, t.Status)
	}
	return tw.Flush()
}
