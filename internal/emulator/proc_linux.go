package emulator

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// stopWithParent has the kernel send cosmium SIGINT (so it saves its data)
// when the process that started it dies, even by SIGKILL: a test binary
// killed at its timeout, or acrsink dev killed hard, leaves no orphan
// holding the port.
func stopWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
}

// lockFile takes an exclusive lock on path, waiting for it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// PortOwner names the process listening on a local TCP port, for a message
// about a port that is taken: "cosmium (pid 12), started by acrsink dev
// (pid 10)". It reads /proc, so it is "" for a process of another user or
// when nothing can be told.
func PortOwner(port int) string {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			// local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			_, p, _ := strings.Cut(f[1], ":")
			if n, err := strconv.ParseInt(p, 16, 32); err == nil && int(n) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && inodes[link] {
				who := describe(pid)
				if parent := parentOf(pid); parent > 1 {
					if pw := describe(parent); strings.HasPrefix(pw, "acrsink dev") || strings.HasPrefix(pw, "acrsink.test") {
						who += ", started by " + pw
					}
				}
				return who
			}
		}
	}
	return ""
}

// describe is a process's program name (and subcommand, for acrsink) and
// pid.
func describe(pid int) string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(data) == 0 {
		return fmt.Sprintf("pid %d", pid)
	}
	args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
	name := filepath.Base(args[0])
	if name == "acrsink" && len(args) > 1 {
		name += " " + args[1]
	}
	return fmt.Sprintf("%s (pid %d)", name, pid)
}

func parentOf(pid int) int {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces; the fields after
	// the last ")" are state, then the parent's pid.
	rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}
