// Command bench measures acrsink against baselines measured in the same
// run, interleaved, and prints ratios: on a shared, noisy machine a ratio of
// two things measured side by side means something; an absolute figure
// alone does not. It exits non-zero only when it cannot run.
//
//	go run ./cmd/bench
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/repo"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	rounds     int
	duration   time.Duration
	events     int
	starts     int
	pin        bool
	cpus       int
	handlerEnv envList
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }
func (e *envList) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet(args[0], flag.ContinueOnError)
	flags.SetOutput(stderr)
	var o options
	flags.IntVar(&o.rounds, "rounds", 5, "interleaved rounds of each pair")
	flags.DurationVar(&o.duration, "duration", time.Second, "length of one ping round")
	flags.IntVar(&o.events, "events", 2000, "events per store-path round at concurrency 32 (a tenth at concurrency 1)")
	flags.IntVar(&o.starts, "starts", 20, "cold starts of each program")
	flags.BoolVar(&o.pin, "pin", false, "pin cosmium to the last CPU and everything else to the others (needs taskset and 2 CPUs)")
	flags.IntVar(&o.cpus, "cpus", 0, "run the whole bench (client, handler, cosmium) on the first N CPUs (taskset), to see how it scales")
	flags.Var(&o.handlerEnv, "handler-env", "KEY=VALUE added to the handler's environment (repeatable), to try a setting such as GOGC")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	if o.cpus > 0 && os.Getenv("ACRSINK_BENCH_CPUS") == "" {
		return onCPUs(ctx, o.cpus, args, stdout, stderr)
	}
	root, err := repo.Root()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "acrsink-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(stderr, "building handler, floor and cosmium ...")
	handlerBin, floorBin, floorStoreBin := filepath.Join(dir, "handler"), filepath.Join(dir, "floor"), filepath.Join(dir, "floorstore")
	for bin, pkg := range map[string]string{handlerBin: "./cmd/handler", floorBin: "./cmd/bench/internal/floor", floorStoreBin: "./cmd/bench/internal/floorstore"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		cmd.Dir, cmd.Stderr = root, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", pkg, err)
		}
	}
	cosmiumBin, err := emulator.Binary(ctx, root, stderr)
	if err != nil {
		return err
	}
	cosmium, err := emulator.Start(ctx, cosmiumBin, emulator.Options{})
	if err != nil {
		return err
	}
	defer cosmium.Stop()
	pinned := o.pin && pin(cosmium.Pid(), stderr)

	cfg, err := benchContainer(ctx, cosmium)
	if err != nil {
		return err
	}
	env := []string{
		"ACRSINK_FUNCTION_KEYS=bench-key", "ACRSINK_LOG_LEVEL=error",
		"COSMOS_CONNECTION_STRING=" + cosmium.ConnectionString(), "COSMOS_DATABASE=bench", "COSMOS_CONTAINER=" + cfg.CosmosContainer,
	}
	handler, err := startProgram(ctx, handlerBin, append(slices.Clone(env), o.handlerEnv...))
	if err != nil {
		return err
	}
	defer handler.stop()
	// The same handler with Go's own garbage collector defaults (GOGC=100,
	// no memory limit), whatever the handler's policy: the "before".
	goDefault, err := startProgram(ctx, handlerBin, append(slices.Clone(env), "GOGC=100", "GOMEMLIMIT=off"))
	if err != nil {
		return err
	}
	defer goDefault.stop()
	floor, err := startProgram(ctx, floorBin, nil)
	if err != nil {
		return err
	}
	defer floor.stop()
	time.Sleep(200 * time.Millisecond)
	idleRSS := handler.rss("VmRSS")

	var rows []row
	add := func(r row) {
		rows = append(rows, r)
		fmt.Fprintf(stderr, "  %s: %.2f (%s)\n", r.name, r.measured, r.absolute)
	}

	fmt.Fprintln(stderr, "handler overhead (ping, concurrency 32) ...")
	ping := acrtest.Event("ping")
	var hs, fs []float64
	for range o.rounds {
		hs = append(hs, throughput(ctx, handler.url+"/images/push", ping, 32, o.duration))
		fs = append(fs, throughput(ctx, floor.url+"/images/push", ping, 32, o.duration))
	}
	add(row{"Handler overhead", "ping req/s: handler (key check) / bare net/http 204", ratio(hs, fs), 0.85, true,
		fmt.Sprintf("%.0f / %.0f req/s", median(hs), median(fs)), ""})

	direct, err := directClient(cosmium.ConnectionString(), cfg.CosmosContainer)
	if err != nil {
		return err
	}
	var lat, viaLat1, dirLat1 []time.Duration
	for _, conc := range []int{1, 32} {
		fmt.Fprintf(stderr, "store path (concurrency %d) ...\n", conc)
		n := o.events
		if conc == 1 {
			n /= 10
		}
		var via, dir []float64
		for round := range o.rounds {
			prefix := fmt.Sprintf("c%d-r%d-", conc, round)
			rate, l, err := viaHandler(ctx, handler.url+"/images/push", prefix, n, conc)
			if err != nil {
				return err
			}
			via, lat = append(via, rate), append(lat, l...)
			rate, dl, err := viaSDK(ctx, direct, prefix+"direct-", n, conc)
			if err != nil {
				return err
			}
			dir = append(dir, rate)
			if conc == 1 {
				viaLat1, dirLat1 = append(viaLat1, l...), append(dirLat1, dl...)
			}
		}
		add(row{fmt.Sprintf("Store path, concurrency %d", conc), "push events/s through the handler / CreateItem/s direct with azcosmos", ratio(via, dir), 0.9, true,
			fmt.Sprintf("%.0f / %.0f per s", median(via), median(dir)), ""})
	}
	slices.Sort(lat)
	peakRSS := handler.rss("VmHWM")
	slices.Sort(viaLat1)
	slices.Sort(dirLat1)
	added := func(p float64) string {
		return fmt.Sprintf("%+.0f µs", float64(at(viaLat1, p)-at(dirLat1, p))/1000)
	}
	addedLine := fmt.Sprintf("| Handler-added latency, concurrency 1 | through the handler minus direct azcosmos on the same emulator: one more loopback hop plus our work | | | p50 %s, p99 %s (p50 %s / %s) |", added(0.5), added(0.99), pct(viaLat1, 0.5), pct(dirLat1, 0.5))

	fmt.Fprintln(stderr, "garbage collector policy (store path, concurrency 32) ...")
	type gcSide struct {
		name  string
		p     *program
		rates []float64
		cpu   time.Duration
	}
	pol, def := &gcSide{name: "policy", p: handler}, &gcSide{name: "default", p: goDefault}
	for round := range o.rounds {
		for _, side := range []*gcSide{pol, def} {
			before := side.p.cpu()
			rate, _, err := viaHandler(ctx, side.p.url+"/images/push", fmt.Sprintf("gc-%s-%d-", side.name, round), o.events, 32)
			if err != nil {
				return err
			}
			side.cpu += side.p.cpu() - before
			side.rates = append(side.rates, rate)
		}
	}
	perEvent := func(d time.Duration) string {
		return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(max(o.rounds*o.events, 1)))
	}
	add(row{"GC policy, concurrency 32", "push events/s through the handler: its GC policy / Go's defaults (GOGC=100, no limit)", ratio(pol.rates, def.rates), 1, true,
		fmt.Sprintf("%.0f / %.0f per s; CPU per event %s / %s; peak RSS %s / %s", median(pol.rates), median(def.rates), perEvent(pol.cpu), perEvent(def.cpu), mib(handler.rss("VmHWM")), mib(goDefault.rss("VmHWM"))), ""})

	azure, err := azureRows(ctx, o, handlerBin, floorStoreBin, cosmiumBin, dir, stderr)
	if err != nil {
		return err
	}
	for _, r := range azure {
		add(r)
	}

	fmt.Fprintln(stderr, "cold start ...")
	var hStart, fStart []float64
	for range o.starts {
		d, err := coldStart(ctx, handlerBin, env)
		if err != nil {
			return err
		}
		hStart = append(hStart, d.Seconds()*1000)
		if d, err = coldStart(ctx, floorBin, nil); err != nil {
			return err
		}
		fStart = append(fStart, d.Seconds()*1000)
	}
	add(row{"Cold start", "exec to first GET / answer, median of " + strconv.Itoa(o.starts) + ": handler / minimal net/http", median(hStart) / median(fStart), 2, false,
		fmt.Sprintf("%.1f ms / %.1f ms (goal < 20 ms)", median(hStart), median(fStart)), ""})

	fmt.Fprintln(stderr, "allocation benchmark ...")
	benchOut, err := goBench(ctx, root)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "\nacrsink bench, %s, %s/%s, %d CPUs, %s\n", time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if pinned {
		fmt.Fprintf(stdout, "cosmium pinned to CPU %d, the bench, its client and the servers under test to the others: the database on a machine of its own, as in Azure\n", runtime.NumCPU()-1)
	} else {
		fmt.Fprintln(stdout, "not pinned: cosmium shares the CPUs with the servers under test, which lowers the store-path ratios")
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "| measure | compares | ratio | goal | absolute |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|")
	for _, r := range rows {
		goal := fmt.Sprintf("≥ %.2f", r.goal)
		switch {
		case r.goalText != "":
			goal = r.goalText
		case !r.higherIsBetter:
			goal = fmt.Sprintf("≤ %gx", r.goal)
		}
		fmt.Fprintf(stdout, "| %s | %s | %.2f | %s | %s |\n", r.name, r.compares, r.measured, goal, r.absolute)
	}
	fmt.Fprintf(stdout, "| Store path latency | through the handler, all rounds | | | p50 %s, p99 %s |\n", pct(lat, 0.50), pct(lat, 0.99))
	fmt.Fprintln(stdout, addedLine)
	fmt.Fprintf(stdout, "| Memory | handler RSS | | | idle %s, peak %s |\n", mib(idleRSS), mib(peakRSS))
	fmt.Fprintf(stdout, "\nDecode + validate + map + encode one event, no I/O (go test -bench . -benchmem ./internal/ingest/):\n\n%s\n", benchOut)
	return nil
}

type row struct {
	name, compares string
	measured, goal float64
	higherIsBetter bool
	absolute       string
	// goalText replaces the goal's usual rendering (≥ ratio, ≤ N×).
	goalText string
}

// program is a running server started as the Functions host would.
type program struct {
	cmd *exec.Cmd
	url string
}

func startProgram(ctx context.Context, bin string, env []string) (*program, error) {
	port, err := emulator.FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(port)}, env...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &program{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(port)}
	if err := waitReady(ctx, p.url+"/", 10*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *program) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

// cpu is the CPU time the process has used so far (user + system, from
// /proc/PID/stat in clock ticks of 1/100 s, the Linux default).
func (p *program) cpu() time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it are fixed.
	_, rest, _ := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// rss reads a memory figure (VmRSS, VmHWM) of the process, in kB.
func (p *program) rss(field string) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 256}, Timeout: 10 * time.Second}

func waitReady(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s never answered: %v", url, err)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func post(url string, body []byte) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("x-functions-key", "bench-key")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// throughput posts body for d with conc workers and returns answers per
// second.
func throughput(ctx context.Context, url string, body []byte, conc int, d time.Duration) float64 {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if s, err := post(url, body); err == nil && s < 300 {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// viaHandler posts n distinct push events and returns events per second and
// each request's latency.
func viaHandler(ctx context.Context, url, prefix string, n, conc int) (float64, []time.Duration, error) {
	lat := make([]time.Duration, n)
	start := time.Now()
	failed := parallel(ctx, n, conc, func(i int) bool {
		body := pushEvent(prefix + strconv.Itoa(i))
		t0 := time.Now()
		s, err := post(url, body)
		lat[i] = time.Since(t0)
		return err == nil && s == http.StatusCreated
	})
	if f := failed; f > 0 {
		return 0, nil, fmt.Errorf("%d of %d events not stored through the handler", f, n)
	}
	return float64(n) / time.Since(start).Seconds(), lat, nil
}

func directClient(conn, container string) (*azcosmos.ContainerClient, error) {
	c, err := azcosmos.NewClientFromConnectionString(conn, nil)
	if err != nil {
		return nil, err
	}
	return c.NewContainer("bench", container)
}

// benchContainer makes the bench's container on srv (database "bench")
// and returns the configuration that reaches it with srv's key.
func benchContainer(ctx context.Context, srv *emulator.Server) (config.Config, error) {
	cfg, err := config.Load(func(k string) string {
		switch k {
		case "COSMOS_CONNECTION_STRING":
			return srv.ConnectionString()
		case "COSMOS_DATABASE":
			return "bench"
		}
		return ""
	})
	if err != nil {
		return cfg, err
	}
	st, err := store.Open(store.Account{ConnectionString: cfg.CosmosConnection, Database: cfg.CosmosDatabase, Container: cfg.CosmosContainer}, store.Options{})
	if err != nil {
		return cfg, err
	}
	return cfg, st.EnsureContainer(ctx)
}

// viaSDK makes n CreateItem calls of the same documents the handler would
// write, straight to the emulator.
func viaSDK(ctx context.Context, c *azcosmos.ContainerClient, prefix string, n, conc int) (float64, []time.Duration, error) {
	ev, err := acr.Parse(acrtest.Event("push"))
	if err != nil {
		return 0, nil, err
	}
	docs := make([][]byte, n)
	for i := range docs {
		ev.ID = prefix + strconv.Itoa(i)
		d := document.New(ev, document.SourceWebhook, ev.Raw, time.Now())
		if docs[i], err = d.Marshal(); err != nil {
			return 0, nil, err
		}
	}
	lat := make([]time.Duration, n)
	start := time.Now()
	failed := parallel(ctx, n, conc, func(i int) bool {
		t0 := time.Now()
		_, err := c.CreateItem(ctx, azcosmos.NewPartitionKeyString(prefix+strconv.Itoa(i)), docs[i], nil)
		lat[i] = time.Since(t0)
		return err == nil
	})
	if f := failed; f > 0 {
		return 0, nil, fmt.Errorf("%d of %d direct CreateItem calls failed", f, n)
	}
	return float64(n) / time.Since(start).Seconds(), lat, nil
}

// coldStart is the time from exec to the first answer on GET /.
func coldStart(ctx context.Context, bin string, env []string) (time.Duration, error) {
	port, err := emulator.FreePort()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(port)}, env...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	if err := waitReady(ctx, "http://127.0.0.1:"+strconv.Itoa(port)+"/", 10*time.Second); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func goBench(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "DecodeValidateMap", "-benchmem", "-count", "3", "./internal/ingest/")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go test -bench: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			lines = append(lines, "    "+l)
		}
	}
	if len(lines) == 0 {
		return "", errors.New("go test -bench printed no benchmark")
	}
	return strings.Join(lines, "\n"), nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func ratio(a, b []float64) float64 {
	if median(b) == 0 {
		return 0
	}
	return median(a) / median(b)
}

func pct(sorted []time.Duration, p float64) string {
	if len(sorted) == 0 {
		return "-"
	}
	return at(sorted, p).Round(10 * time.Microsecond).String()
}

// at is the p-th quantile of sorted durations (0 when there are none).
func at(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*p)]
}

func mib(kb int) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

// pin gives cosmium the last CPU and this process (and so the programs it
// starts from now on) the others, so that the store-path pairs compare the
// cost of our hop, not a fight for CPU with the database. It reports whether
// it pinned.
func pin(cosmiumPid int, log io.Writer) bool {
	n := runtime.NumCPU()
	if n < 2 {
		return false
	}
	last, rest := strconv.Itoa(n-1), "0-"+strconv.Itoa(n-2)
	for _, args := range [][]string{{"-a", "-cp", last, strconv.Itoa(cosmiumPid)}, {"-a", "-cp", rest, strconv.Itoa(os.Getpid())}} {
		if out, err := exec.Command("taskset", args...).CombinedOutput(); err != nil {
			fmt.Fprintf(log, "not pinning CPUs: taskset: %v %s\n", err, out)
			return false
		}
	}
	return true
}

// onCPUs runs this same bench again with its arguments, on CPUs 0..n-1
// only: everything it starts inherits the affinity, and the Go runtime of
// each sizes itself to those CPUs.
func onCPUs(ctx context.Context, n int, args []string, stdout, stderr io.Writer) error {
	if n > runtime.NumCPU() {
		return fmt.Errorf("-cpus %d: this machine has %d", n, runtime.NumCPU())
	}
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", fmt.Sprintf("0-%d", n-1), args[0]}, args[1:]...)...)
	cmd.Env = append(os.Environ(), "ACRSINK_BENCH_CPUS="+strconv.Itoa(n))
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("taskset: %w", err)
	}
	return nil
}

// parallel runs do(0..n-1) on conc workers and returns how many failed.
func parallel(ctx context.Context, n, conc int, do func(i int) bool) int64 {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if !do(i) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return failed.Load()
}
