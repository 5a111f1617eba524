package ingest

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// Each calls do(i) for each i from 0 to n-1, at most limit at a time, and
// returns when every call it made has returned: how a door stores many
// events at once (an Event Grid batch, a replay) without opening a
// connection per event. Once ctx ends it makes no more calls; the items it
// did not reach keep what the caller gave them.
//
// Each call runs on a goroutine of its own, out of reach of the caller's
// recover (the server's recoverPanics), where a panic would end the
// process and every request in flight with it. A call that panics is
// ended there and reported as panicked(i, err) instead.
func Each(ctx context.Context, n, limit int, do func(i int), panicked func(i int, err error)) {
	var g errgroup.Group
	g.SetLimit(limit)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		// Go waits for a free slot: ctx may have ended meanwhile.
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil
			}
			defer func() {
				if v := recover(); v != nil {
					panicked(i, fmt.Errorf("panic: %v", v))
				}
			}()
			do(i)
			return nil
		})
	}
	_ = g.Wait()
}
