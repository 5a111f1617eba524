package emulator

import "syscall"

// stopWithParent has the kernel send cosmium SIGINT (so it saves its data)
// when the process that started it dies, even by SIGKILL: a test binary
// killed at its timeout, or acrsink dev killed hard, leaves no orphan
// holding the port.
func stopWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
}
