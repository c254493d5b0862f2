// gosvc is warroom's demo and test service: a small Go HTTP service instrumented the way
// most Go services are (client_golang, prometheus.DefBuckets, net/http/pprof), with latency,
// CPU and allocation work per route that tests change at runtime (POST /control), and two
// releases: 1.4.2, and 1.4.3 whose cart validation (validate_cart_v2) re-prices every line
// item with a JSON round trip of the whole cart.
//
// Built by tui/demo/gobuild.py with Debian's Go in GOPATH mode:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o gosvc .
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type options struct {
	listen         string
	addrFile       string
	version        string
	revision       string
	runtimeMetrics bool
	exemplars      bool
	loadRPS        float64
	loadMix        string
	loadConns      int
	seed           int64
	exitWithParent bool
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("gosvc", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to serve on (port 0: a free port)")
	fs.StringVar(&o.addrFile, "addr-file", "", "write the bound host:port to this file once serving")
	fs.StringVar(&o.version, "version", goodVersion, "release to run: "+goodVersion+" or "+slowVersion+" (slow cart validation)")
	fs.StringVar(&o.revision, "revision", "", "revision label of gosvc_build_info (default: derived from -version)")
	fs.BoolVar(&o.runtimeMetrics, "runtime-metrics", false, "also export runtime/metrics GC and scheduler histograms (go_gc_pauses_seconds, go_sched_latencies_seconds) and go_memstats_gc_cpu_fraction")
	fs.BoolVar(&o.exemplars, "exemplars", false, "put each request's trace id (its traceparent header's, else random; answered in X-Trace-Id) on its latency observation as an exemplar, and serve /metrics as OpenMetrics, the format that carries them")
	fs.Float64Var(&o.loadRPS, "load", 0, "built-in load generator: requests per second to this service (0: none)")
	fs.StringVar(&o.loadMix, "load-mix", defaultMix, "route=weight,... mix of the load generator")
	fs.IntVar(&o.loadConns, "load-conns", 0, "at most this many connections for the load generator (0: as many as requests in flight); a small pool fills at once and never dials again, so its buffers stay a constant part of the heap")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the latency and cart generators")
	fs.BoolVar(&o.exitWithParent, "exit-with-parent", false, "exit when the parent process is gone")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if _, ok := releases[o.version]; !ok {
		return o, fmt.Errorf("-version: unknown release %q (%s or %s)", o.version, goodVersion, slowVersion)
	}
	if o.revision == "" {
		o.revision = releases[o.version].revision
	}
	if o.loadRPS < 0 || o.loadRPS > 5000 {
		return o, fmt.Errorf("-load: %g requests/s is not between 0 and 5000", o.loadRPS)
	}
	if o.loadConns < 0 {
		return o, fmt.Errorf("-load-conns: %d is negative", o.loadConns)
	}
	if _, err := parseMix(o.loadMix); err != nil {
		return o, fmt.Errorf("-load-mix: %v", err)
	}
	return o, nil
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosvc: %v\n", err)
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintf(os.Stderr, "gosvc: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	svc := newService(o.version, o.seed)
	m := newMetrics(o.version, o.revision, o.runtimeMetrics, o.exemplars)
	if o.runtimeMetrics {
		m.registry.MustRegister(gcCPUFraction())
	}
	mux := svc.routes(m)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if o.addrFile != "" {
		if err := writeAtomic(o.addrFile, addr+"\n"); err != nil {
			return err
		}
	}
	fmt.Printf("gosvc %s serving on http://%s\n", o.version, addr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if o.loadRPS > 0 {
		mix, _ := parseMix(o.loadMix)
		go newLoad("http://"+addr, o.loadRPS, mix, o.seed, o.loadConns).run(ctx)
	}
	if o.exitWithParent {
		go watchParent(stop)
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close() // a CPU profile still being captured: do not wait for it
	}
	return nil
}

// gcCPUFraction is the GC's share of the available CPU since the process started, under the
// name client_golang exported it before 1.12 (many services still run such versions). Go 1.19's
// runtime/metrics has no GC CPU counter (/cpu/classes/gc arrived in Go 1.20), so with Debian's
// Go this gauge is the only GC CPU signal there is; ReadMemStats runs only when scraped.
func gcCPUFraction() prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "go_memstats_gc_cpu_fraction",
		Help: "The fraction of this program's available CPU time used by the GC since the program started.",
	}, func() float64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.GCCPUFraction
	})
}

// watchParent stops the service when its parent exits (warroom killed with -9 must not leave
// a demo service behind): the parent pid changes when the process is re-parented.
func watchParent(stop func()) {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			stop()
			return
		}
	}
}

// writeAtomic writes a file whole or not at all: a reader never sees half an address.
func writeAtomic(path, text string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gosvc-addr-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
