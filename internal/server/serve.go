package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve runs h on ln until ctx ends, then stops taking requests and lets the
// ones in flight finish. Each request is bounded by timeout, so shutdown
// waits at most about that long: the Functions host gives a worker a grace
// period on scale-in, and a request cut short would be an event lost. The
// two that may run longer stop on their own when ctx ends (given it as
// Options.Shutdown): a reconcile run, which the next one resumes, and an
// Event Grid delivery (EventGridBudget), answered 503 for Event Grid to
// retry.
func Serve(ctx context.Context, log *slog.Logger, ln net.Listener, timeout time.Duration, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: timeout,
		ReadTimeout:       timeout,
		WriteTimeout:      timeout + time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", slog.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
