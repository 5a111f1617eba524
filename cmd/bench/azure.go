package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/armtest"
	"github.com/acrsink/acrsink/internal/testenv/faultproxy"
)

// The bench's stand-in for Azure's network: every store request, and every
// token from the managed identity endpoint, takes this long more. The
// figures are round numbers in the range of one region (a Cosmos DB write
// is "under 10 ms at the 99th percentile" by its SLA, learn.microsoft.com,
// cosmos-db introduction), not measurements of Azure.
const (
	storeDelay = 5 * time.Millisecond
	tokenDelay = 20 * time.Millisecond
)

// azureLike is cosmium behind an HTTPS proxy that adds storeDelay, reached
// with Microsoft Entra ID through a stand-in managed identity endpoint that
// adds tokenDelay: the handler runs as in Azure (COSMOS_ENDPOINT, managed
// identity, a TLS handshake per new connection).
type azureLike struct {
	cosmium *emulator.Server
	proxy   *faultproxy.Proxy
	id      *armtest.Identity
	env     []string
}

func startAzureLike(ctx context.Context, cosmiumBin, dir string) (*azureLike, error) {
	a := &azureLike{}
	var err error
	if a.cosmium, err = emulator.Start(ctx, cosmiumBin, emulator.Options{DisableAuth: true}); err != nil {
		return nil, err
	}
	cfg, err := benchContainer(ctx, a.cosmium)
	if err == nil {
		a.proxy, err = faultproxy.StartWith(a.cosmium.Endpoint(), faultproxy.Options{Delay: storeDelay, TLS: true})
	}
	if err != nil {
		a.stop()
		return nil, err
	}
	cert := filepath.Join(dir, "store.pem")
	if err := os.WriteFile(cert, a.proxy.CertPEM(), 0o644); err != nil {
		a.stop()
		return nil, err
	}
	a.id = armtest.StartIdentity(tokenDelay)
	a.env = []string{
		"ACRSINK_FUNCTION_KEYS=bench-key", "ACRSINK_LOG_LEVEL=error",
		"COSMOS_ENDPOINT=" + a.proxy.Endpoint(), "COSMOS_DATABASE=bench", "COSMOS_CONTAINER=" + cfg.CosmosContainer,
		"SSL_CERT_FILE=" + cert,
		"IDENTITY_ENDPOINT=" + a.id.URL, "IDENTITY_HEADER=" + a.id.Header,
	}
	return a, nil
}

func (a *azureLike) stop() {
	if a.id != nil {
		a.id.Close()
	}
	if a.proxy != nil {
		a.proxy.Close()
	}
	a.cosmium.Stop()
}

// pushEvent is the sample push with id.
func pushEvent(id string) []byte {
	return bytes.Replace(acrtest.Event("push"), []byte("cb8c3971-9adc-488b-bdd8-43cbb4974ff5"), []byte(id), 1)
}

// timedPost posts one event and returns how long the 201 took.
func timedPost(url string, body []byte) (time.Duration, error) {
	start := time.Now()
	status, err := post(url, body)
	if err != nil {
		return 0, err
	}
	if status != http.StatusCreated {
		return 0, fmt.Errorf("answered %d, want 201", status)
	}
	return time.Since(start), nil
}

// firstEvent starts a program as the host does, posts an event the moment
// GET / answers, and returns exec-to-201 of that first event and the median
// of steady single events after it, on the same program. name makes the
// event ids unique.
func firstEvent(ctx context.Context, bin string, a *azureLike, name string) (first, steady time.Duration, err error) {
	start := time.Now()
	p, err := startProgram(ctx, bin, a.env)
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	url := p.url
	if _, err := timedPost(url+"/images/push", pushEvent(name+"-0")); err != nil {
		return 0, 0, fmt.Errorf("first event: %w", err)
	}
	first = time.Since(start)
	var ds []float64
	for i := 1; i <= 10; i++ {
		d, err := timedPost(url+"/images/push", pushEvent(name+"-"+strconv.Itoa(i)))
		if err != nil {
			return 0, 0, err
		}
		ds = append(ds, float64(d))
	}
	return first, time.Duration(median(ds)), nil
}

// connectionsPer1000 posts n events at conc through the handler and returns
// the connections the store's proxy saw opened, per 1,000 events.
func connectionsPer1000(ctx context.Context, url string, a *azureLike, prefix string, n, conc int) (float64, error) {
	before := a.proxy.Connections()
	if _, _, err := viaHandler(ctx, url, prefix, n, conc); err != nil {
		return 0, err
	}
	return float64(a.proxy.Connections()-before) * 1000 / float64(n), nil
}

// burst posts n distinct events at once and returns each one's latency.
func burst(url, prefix string, n int) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			lat[i], errs[i] = timedPost(url, pushEvent(prefix+strconv.Itoa(i)))
		}()
	}
	close(gate)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(lat)
	return lat, nil
}

// azureRows measures the handler in the Azure-like setting: the first event
// after a cold start, connections per 1,000 events, and a burst.
func azureRows(ctx context.Context, o options, handlerBin, floorStoreBin, cosmiumBin, dir string, log io.Writer) ([]row, error) {
	a, err := startAzureLike(ctx, cosmiumBin, dir)
	if err != nil {
		return nil, err
	}
	defer a.stop()
	var rows []row

	fmt.Fprintln(log, "first event after a cold start (Azure-like latency) ...")
	var firsts, steadies, floors []float64
	for i := range o.starts {
		f, s, err := firstEvent(ctx, handlerBin, a, fmt.Sprintf("first-%d", i))
		if err != nil {
			return nil, err
		}
		firsts, steadies = append(firsts, float64(f)), append(steadies, float64(s))
		if f, _, err = firstEvent(ctx, floorStoreBin, a, fmt.Sprintf("floor-%d", i)); err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
		floors = append(floors, float64(f))
	}
	ms := func(xs []float64) string { return time.Duration(median(xs)).Round(100 * time.Microsecond).String() }
	rows = append(rows, row{"First event after a cold start", fmt.Sprintf("exec to the first event's 201, posted as GET / answers / a steady event's latency, median of %d starts (store +%s, token +%s)", o.starts, storeDelay, tokenDelay),
		ratio(firsts, steadies), 1.5, false, ms(firsts) + " / " + ms(steadies), ""})
	rows = append(rows, row{"First event, against the SDK's floor", "the same exec-to-201: handler / the smallest program that stores the event with azcosmos and no warm-up (cmd/bench/internal/floorstore), interleaved",
		ratio(firsts, floors), 1, false, ms(firsts) + " / " + ms(floors), ""})

	handler, err := startProgram(ctx, handlerBin, a.env)
	if err != nil {
		return nil, err
	}
	defer handler.stop()
	url := handler.url + "/images/push"
	for _, conc := range []int{1, 32} {
		fmt.Fprintf(log, "connections to the store (concurrency %d) ...\n", conc)
		// Twice: the first 1,000 fill the pool (Go's transport may dial a
		// spare connection when one frees up while it dials), the next
		// show whether connections keep being opened.
		var per [2]float64
		for i := range per {
			var err error
			if per[i], err = connectionsPer1000(ctx, url, a, fmt.Sprintf("conn-%d-%d-", conc, i), 1000, conc); err != nil {
				return nil, err
			}
		}
		rows = append(rows, row{fmt.Sprintf("Store connections, concurrency %d", conc), "connections opened to the store per 1,000 events, counted at the proxy (each one a TLS handshake): the first 1,000 events",
			per[0], float64(conc), false, fmt.Sprintf("%.0f in the first 1,000 events, %.0f in the next 1,000", per[0], per[1]), fmt.Sprintf("≤ %d", conc)})
	}

	fmt.Fprintln(log, "a burst of 50 ...")
	lat, err := burst(url, "burst-", 50)
	if err != nil {
		return nil, err
	}
	within := 0
	for _, d := range lat {
		if d < 5*time.Second {
			within++
		}
	}
	rows = append(rows, row{"Burst of 50", "share of 50 distinct pushes, posted at once, answered 201 within ACR's 5 s", float64(within) / 50, 1, true,
		fmt.Sprintf("p50 %s, p99 %s, max %s", pct(lat, 0.5), pct(lat, 0.99), lat[len(lat)-1].Round(10*time.Microsecond)), "1.00"})
	return rows, nil
}
