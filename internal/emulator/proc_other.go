//go:build !linux

package emulator

import "syscall"

func stopWithParent() *syscall.SysProcAttr { return nil }

// lockFile does not lock here: concurrent builds only waste time.
func lockFile(string) (func(), error) { return func() {}, nil }

// PortOwner cannot tell who holds a port here.
func PortOwner(int) string { return "" }
