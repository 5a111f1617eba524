//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// lockData takes the lock on path for as long as this process runs, and
// writes owner in it; held reports that another process has it, and says
// what that one wrote. flock(2) locks belong to the open file, so the
// kernel releases one when its process ends however it ends: no stale lock
// outlives a killed dev.
func lockData(path, owner string) (release func(), heldBy string, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, "", err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			return nil, string(b), nil
		}
		return nil, "", err
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(owner), 0)
	}
	return func() { f.Close() }, "", nil
}
