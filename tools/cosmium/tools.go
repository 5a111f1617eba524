//go:build tools

// Package tools pins the Cosmos DB emulator used by local runs and tests.
// cosmium cannot be imported in-process (its API needs an internal
// package), so it is built from this separate module and run as a child
// process: go build -o ../../.cache/bin/cosmium github.com/pikami/cosmium/cmd/server
package tools

import _ "github.com/pikami/cosmium/cmd/server"
