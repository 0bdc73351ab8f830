// Package deploy holds no code of the server: its tests check the files that
// install and run wabiz (the Dockerfile, compose files, Kubernetes manifests,
// the systemd unit and the Grafana dashboard) against the server itself.
// It is a module of its own so that the Kubernetes API types it decodes the
// manifests with never become dependencies of the server's module.
package deploy
