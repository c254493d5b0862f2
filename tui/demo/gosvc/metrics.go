package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"runtime"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the service's registry: what a Go service instrumented with client_golang's
// defaults exposes, plus the build info gauge releases are read from.
type metrics struct {
	registry  *prometheus.Registry
	duration  *prometheus.HistogramVec
	requests  *prometheus.CounterVec
	exemplars bool // each request's trace id on its observation, served as OpenMetrics
}

func newMetrics(version, revision string, runtimeMetrics, exemplars bool) *metrics {
	m := &metrics{
		exemplars: exemplars,
		registry:  prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Duration of HTTP requests, by route, method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by route, method and status code.",
		}, []string{"route", "method", "code"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gosvc_build_info",
		Help: "Always 1: the release this process runs.",
	}, []string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(version, revision, runtime.Version()).Set(1)
	goCollector := collectors.NewGoCollector()
	if runtimeMetrics { // go_gc_pauses_seconds, go_sched_latencies_seconds, ... histograms
		goCollector = collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.MetricsGC, collectors.MetricsScheduler))
	}
	m.registry.MustRegister(
		m.duration, m.requests, buildInfo,
		goCollector,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// instrument observes every request of `next` under route label `route`; with exemplars,
// each observation carries the request's trace id (see withTrace).
func (m *metrics) instrument(route string, next http.Handler) http.Handler {
	labels := prometheus.Labels{"route": route}
	if !m.exemplars {
		return promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(labels),
			promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(labels), next))
	}
	ex := promhttp.WithExemplarFromContext(traceExemplar)
	return withTrace(promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(labels),
		promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(labels), next, ex), ex))
}

// The OpenMetrics exposition (the only one that carries exemplars) is offered with exemplars
// on; Prometheus asks for it first, and stores exemplars with --enable-feature=exemplar-storage.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{EnableOpenMetrics: m.exemplars})
}

type traceKey struct{}

// withTrace gives each request a trace id: the one of its W3C traceparent header, else a new
// random one. It is answered in the X-Trace-Id header, so a client knows which trace was slow.
func withTrace(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := traceIDOf(r.Header.Get("traceparent"))
		if id == "" {
			var b [16]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Trace-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), traceKey{}, id)))
	})
}

// traceIDOf is the trace id of a traceparent "00-<32 hex>-<16 hex>-<2 hex>", or "".
func traceIDOf(header string) string {
	parts := strings.Split(strings.TrimSpace(header), "-")
	if len(parts) != 4 || len(parts[1]) != 32 || parts[1] == strings.Repeat("0", 32) {
		return ""
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return ""
	}
	return strings.ToLower(parts[1])
}

func traceExemplar(ctx context.Context) prometheus.Labels {
	if id, ok := ctx.Value(traceKey{}).(string); ok {
		return prometheus.Labels{"trace_id": id}
	}
	return nil
}
