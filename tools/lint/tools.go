//go:build tools

// Package tools pins the linters .ci/run uses: go run from this module runs
// exactly this version (go run -C tools/lint honnef.co/go/tools/cmd/staticcheck).
package tools

import _ "honnef.co/go/tools/cmd/staticcheck"
