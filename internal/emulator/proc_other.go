//go:build !linux

package emulator

import "syscall"

func stopWithParent() *syscall.SysProcAttr { return nil }
