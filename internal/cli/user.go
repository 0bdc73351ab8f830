package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/server"
	"github.com/wabiz/wabiz/internal/store"
)

const userUsage = `usage: wabiz user <action> [flags] [username]

  create NAME   create a user (ROLE_USER); the password is read from stdin or --password-file
  passwd NAME   set a user's password (recovery, admin included) and revoke its tokens
  delete NAME   delete a user and revoke its tokens (not admin)
  list          list usernames`

// runUser manages users directly in the database: the way back in when the
// admin password is lost.
func runUser(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stdout, userUsage)
		return nil
	}
	action := args[0]
	fs := flag.NewFlagSet("user "+action, flag.ContinueOnError)
	passwordFile := fs.String("password-file", "", "read the password from this file instead of standard input")
	c, err := loadConfig(e, "user", args[1:], fs)
	if err != nil {
		return err
	}
	name := ""
	switch action {
	case "create", "passwd", "delete":
		if fs.NArg() != 1 {
			return fmt.Errorf("%s takes exactly one username\n%s", action, userUsage)
		}
		name = fs.Arg(0)
	case "list":
		if fs.NArg() != 0 {
			return fmt.Errorf("list takes no arguments")
		}
	default:
		return fmt.Errorf("unknown action %q\n%s", action, userUsage)
	}

	s, _, err := server.OpenStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	svc, err := server.NewAuthService(ctx, c, s, time.Now)
	if err != nil {
		return err
	}
	// On a database no server has started on yet, admin must exist before
	// "passwd admin" can recover it.
	if _, err := svc.EnsureAdmin(ctx); err != nil {
		return err
	}
	switch action {
	case "list":
		names, err := s.ListUsernames(ctx)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(e.stdout, n)
		}
		return nil
	case "delete":
		if err := svc.DeleteUser(ctx, name); err != nil {
			return describe(err, name)
		}
		fmt.Fprintf(e.stdout, "deleted user %s\n", name)
		return nil
	}
	password, err := readPassword(e, *passwordFile)
	if err != nil {
		return err
	}
	if action == "create" {
		if err := svc.CreateUser(ctx, name, password); err != nil {
			return describe(err, name)
		}
		fmt.Fprintf(e.stdout, "created user %s\n", name)
		return nil
	}
	if err := svc.ChangePassword(ctx, name, password, auth.Principal{}); err != nil {
		return describe(err, name)
	}
	fmt.Fprintf(e.stdout, "password of %s changed; its tokens are revoked\n", name)
	return nil
}

func describe(err error, name string) error {
	var apiErr *apierr.Error
	switch {
	case errors.As(err, &apiErr):
		return errors.New(apiErr.Details[len(apiErr.Details)-1].Details)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("user %s does not exist", name)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("user %s already exists", name)
	}
	return err
}

// readPassword takes the first line of the file or of standard input, so a
// password never has to appear on a command line (and in ps).
func readPassword(e env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r"), nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password: give it on standard input or with --password-file")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
