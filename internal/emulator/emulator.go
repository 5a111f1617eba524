// Package emulator builds and runs cosmium, the Cosmos DB-compatible server
// that local runs and tests use in place of Azure (the official emulator
// needs Docker). cosmium is pinned in the tools/cosmium module and runs as a
// child process: its API cannot be imported.
package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Key is cosmium's default account key: the well-known, public key of the
// Cosmos DB emulator, not a secret.
const Key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="

// Binary returns the path of the cosmium executable: $ACRSINK_COSMIUM_BIN,
// else root/.cache/bin/cosmium, built from the pinned tools module when it is
// missing (about a minute the first time; Go's build cache makes it quick
// after).
func Binary(ctx context.Context, root string, log io.Writer) (string, error) {
	if p := os.Getenv("ACRSINK_COSMIUM_BIN"); p != "" {
		return p, nil
	}
	bin := filepath.Join(root, ".cache", "bin", "cosmium")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	// go test ./... starts several test binaries that each want cosmium:
	// one builds it, the others wait for that build.
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(bin + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	fmt.Fprintln(log, "building cosmium v0.1.20 from tools/cosmium (first run only) ...")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/pikami/cosmium/cmd/server")
	cmd.Dir = filepath.Join(root, "tools", "cosmium")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("emulator: build cosmium: %w", err)
	}
	return bin, nil
}

// Options for Start.
type Options struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// Persist keeps the data in this file across restarts (cosmium loads it
	// at start and writes it on a clean stop). Empty keeps data in memory.
	Persist string
	// Output receives cosmium's own log; nil discards it.
	Output io.Writer
	// DisableAuth accepts any Authorization header, so that a client
	// signed in with Microsoft Entra ID (a bearer token, which cosmium
	// cannot check) can talk to it: the bench's stand-in for Azure.
	DisableAuth bool
}

// Server is a running cosmium.
type Server struct {
	cmd     *exec.Cmd
	done    chan error
	persist bool
	Port    int
}

// Start runs cosmium and waits until it answers HTTP.
func Start(ctx context.Context, bin string, opts Options) (*Server, error) {
	port := opts.Port
	if port == 0 {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		port = p
	}
	// A port already taken would have cosmium panic at start, and the
	// readiness check below would meet the other listener and take it for
	// this cosmium.
	if err := PortFree(port); err != nil {
		return nil, err
	}
	args := []string{"-Port", strconv.Itoa(port), "-DisableTls", "-Host", "127.0.0.1", "-LogLevel", "error"}
	if opts.Persist != "" {
		if err := os.MkdirAll(filepath.Dir(opts.Persist), 0o755); err != nil {
			return nil, err
		}
		if err := dataFile(opts.Persist); err != nil {
			return nil, err
		}
		args = append(args, "-Persist", opts.Persist)
	}
	if opts.DisableAuth {
		args = append(args, "-DisableAuth")
	}
	cmd := exec.Command(bin, args...)
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = stopWithParent()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("emulator: start cosmium: %w", err)
	}
	s := &Server{cmd: cmd, done: make(chan error, 1), persist: opts.Persist != "", Port: port}
	go func() { s.done <- cmd.Wait() }()
	if err := s.wait(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) wait(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// A TCP connect, not an HTTP request: cosmium logs every unsigned
	// request as a wrong signature, which would alarm whoever reads it.
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port), time.Second)
		if err == nil {
			conn.Close()
			// cosmium v0.1.20 listens, waits 50ms, and only then installs
			// the signal handler that saves -Persist on exit: a stop in that
			// window would lose the data.
			time.Sleep(150 * time.Millisecond)
			select {
			case err := <-s.done:
				// Something else answered on the port while this cosmium
				// died: never report that one as ours.
				s.done <- err
				return fmt.Errorf("emulator: cosmium exited at start, on port %d: %v (its own log, above, says why)", s.Port, err)
			default:
			}
			return nil
		}
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("emulator: cosmium exited at start, on port %d: %v (its own log, above, says why)", s.Port, err)
		case <-ctx.Done():
			return fmt.Errorf("emulator: cosmium did not answer on port %d: %w", s.Port, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Pid is cosmium's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Endpoint is the account endpoint, for example http://127.0.0.1:8081/.
func (s *Server) Endpoint() string { return "http://127.0.0.1:" + strconv.Itoa(s.Port) + "/" }

// ConnectionString is what COSMOS_CONNECTION_STRING takes.
func (s *Server) ConnectionString() string {
	return "AccountEndpoint=" + s.Endpoint() + ";AccountKey=" + Key + ";"
}

// Stop asks cosmium to exit (so that it saves Persist) and waits for it,
// killing it after five seconds. With nothing to save it kills at once:
// cosmium's graceful stop can wait seconds on a client's fresh connection.
func (s *Server) Stop() error {
	if s.cmd.Process == nil {
		return nil
	}
	if !s.persist {
		_ = s.cmd.Process.Kill()
		err := <-s.done
		s.done <- err // a second Stop returns too
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil && !strings.Contains(err.Error(), "signal") {
			return err
		}
		return nil
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("emulator: cosmium did not stop in 5s; killed")
	}
}

// PortFree says whether nothing listens on the loopback port, and if
// something does, what it is when that can be told.
func PortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		if owner := PortOwner(port); owner != "" {
			return fmt.Errorf("port %d is taken by %s", port, owner)
		}
		return fmt.Errorf("port %d is taken", port)
	}
	return l.Close()
}

// dataFile makes the persist file a data file (0644) before cosmium
// writes it: cosmium v0.1.20 writes it with os.ModePerm, which would make a
// new file executable (0755 after the usual umask); a file that exists
// keeps its mode when written, so an existing one is corrected here.
func dataFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	switch {
	case err == nil:
		// cosmium refuses to start on an empty file: an empty state.
		_, err = f.WriteString("{}")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case errors.Is(err, os.ErrExist):
		// cosmium v0.1.20 exits 1 on a file that is not JSON, saying so
		// only in its own log ("Error unmarshalling state JSON"): said
		// here, with the file, before anything starts.
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			return fmt.Errorf("emulator: data file: %w", rerr)
		}
		if !json.Valid(data) {
			return fmt.Errorf("emulator: the data file %s is not valid JSON (cut short?), and cosmium will not start on it: move it aside to start empty", path)
		}
		return os.Chmod(path, 0o644)
	}
	return err
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
