//go:build !unix

package main

// lockData is a no-op where flock(2) is missing (Windows would need
// LockFileEx): two acrsink dev there must be given their own -data.
func lockData(path, owner string) (release func(), heldBy string, err error) {
	return func() {}, "", nil
}
