// Command wabiz is a self-hosted server that speaks the WhatsApp Business
// On-Premises API. Everything lives in internal/; see internal/cli.
package main

import (
	"os"

	"github.com/wabiz/wabiz/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
