// Package e2e holds end-to-end tests that run the nfr wrapper and the built
// nfr-* binaries in real pipelines.
package e2e
