// Package docs holds the project's documentation; the OpenAPI description
// is embedded so that the server can serve the very file in the repository
// (go:embed cannot reach a parent directory, hence this package here).
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml: the description of every route wabiz serves.
//
//go:embed openapi.yaml
var OpenAPI []byte
