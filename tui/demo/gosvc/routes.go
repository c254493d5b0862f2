package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"net/http/pprof"
	"sort"
	"sync"
	"time"
)

// Settings is what a route does per request, changed at runtime by POST /control.
type Settings struct {
	Route      string  `json:"route"`
	LatencyMS  float64 `json:"latency_ms"`  // median of the wait (a downstream call), lognormal
	Jitter     float64 `json:"jitter"`      // sigma of that lognormal (0: always latency_ms)
	CPUMS      float64 `json:"cpu_ms"`      // busy CPU work (hashing) per request
	AllocKB    float64 `json:"alloc_kb"`    // bytes allocated (and touched) per request
	ErrorRatio float64 `json:"error_ratio"` // share of requests answered 500
}

// The routes and their defaults: P99 about 60 ms on 1.4.2 (DefBuckets bucket (0.05, 0.1]).
var defaultSettings = []Settings{
	{Route: "/api/cart", LatencyMS: 12, Jitter: 0.45, CPUMS: 0.2, AllocKB: 32, ErrorRatio: 0.001},
	{Route: "/api/order/create", LatencyMS: 22, Jitter: 0.4, CPUMS: 0.4, AllocKB: 64, ErrorRatio: 0.002},
	{Route: "/api/pay", LatencyMS: 16, Jitter: 0.35, CPUMS: 0.2, AllocKB: 16, ErrorRatio: 0.002},
	{Route: "/healthz"},
}

// Routes whose handler validates the cart: the code path that differs between releases.
var cartRoutes = map[string]bool{"/api/cart": true, "/api/order/create": true}

type service struct {
	version string
	mu      sync.Mutex
	settings map[string]Settings
	rng     *rand.Rand // guarded by mu
	recent  *recentOrders
}

func newService(version string, seed int64) *service {
	s := &service{
		version: version,
		settings: map[string]Settings{},
		rng:     rand.New(rand.NewSource(seed)),
		recent:  newRecentOrders(4096),
	}
	for _, r := range defaultSettings {
		s.settings[r.Route] = r
	}
	return s
}

// draw returns a route's settings and this request's random numbers in one locked step.
func (s *service) draw(route string) (Settings, float64, float64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings[route], s.rng.NormFloat64(), s.rng.Float64(), s.rng.Int63()
}

// routes is the whole HTTP surface. Every route except /metrics and /control is
// instrumented; the pprof handlers under the one route label "/debug/pprof".
func (s *service) routes(m *metrics) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range defaultSettings {
		mux.Handle(r.Route, m.instrument(r.Route, s.handler(r.Route)))
	}
	debug := http.NewServeMux()
	debug.HandleFunc("/debug/pprof/", pprof.Index)
	debug.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	debug.HandleFunc("/debug/pprof/profile", pprof.Profile)
	debug.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	debug.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/pprof/", m.instrument("/debug/pprof", debug))
	mux.Handle("/metrics", m.handler())
	mux.HandleFunc("/control", s.control)
	return mux
}

func (s *service) handler(route string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set, normal, uniform, seed := s.draw(route)
		wait := time.Duration(set.LatencyMS * math.Exp(set.Jitter*normal) * float64(time.Millisecond))
		sum := burnCPU(time.Duration(set.CPUMS * float64(time.Millisecond)))
		sum ^= allocate(int(set.AllocKB * 1024))
		if cartRoutes[route] {
			rng := rand.New(rand.NewSource(seed))
			cart := newCart(rng)
			total, err := releases[s.version].validate(cart, rng)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			s.recent.add(cart)
			sum ^= uint64(total)
		}
		time.Sleep(wait)
		if uniform < set.ErrorRatio {
			http.Error(w, "injected error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"route\":%q,\"version\":%q,\"check\":%d}\n", route, s.version, sum&0xffff)
	})
}

// burnCPU hashes until `d` has passed: real on-CPU work that shows in a CPU profile.
func burnCPU(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	var block [256]byte
	var acc uint64
	for start := time.Now(); time.Since(start) < d; {
		sum := sha256.Sum256(block[:])
		copy(block[:], sum[:])
		acc += uint64(sum[0])
	}
	return acc
}

// allocate allocates n bytes in 4 KiB pieces and touches them (alloc_space in heap profiles).
func allocate(n int) uint64 {
	var acc uint64
	for n > 0 {
		size := 4096
		if n < size {
			size = n
		}
		buf := make([]byte, size)
		buf[size-1] = byte(n)
		acc += uint64(buf[size-1])
		n -= size
	}
	return acc
}

type controlView struct {
	Version string     `json:"version"`
	Routes  []Settings `json:"routes"`
}

// control: GET shows every route's settings; POST {"route": R, ...fields} changes the fields
// given (others stay) and answers the route's new settings.
func (s *service) control(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		view := controlView{Version: s.version}
		for _, set := range s.settings {
			view.Routes = append(view.Routes, set)
		}
		s.mu.Unlock()
		sort.Slice(view.Routes, func(i, j int) bool { return view.Routes[i].Route < view.Routes[j].Route })
		writeJSON(w, view)
	case http.MethodPost:
		set, err := s.update(r)
		if err != nil {
			http.Error(w, "control: "+err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, set)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "control: GET or POST", http.StatusMethodNotAllowed)
	}
}

type settingsPatch struct {
	Route      string   `json:"route"`
	LatencyMS  *float64 `json:"latency_ms"`
	Jitter     *float64 `json:"jitter"`
	CPUMS      *float64 `json:"cpu_ms"`
	AllocKB    *float64 `json:"alloc_kb"`
	ErrorRatio *float64 `json:"error_ratio"`
}

func (s *service) update(r *http.Request) (Settings, error) {
	var p settingsPatch
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Settings{}, fmt.Errorf("body: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.settings[p.Route]
	if !ok {
		return Settings{}, fmt.Errorf("route: unknown route %q", p.Route)
	}
	fields := []struct {
		name     string
		val      *float64
		dst      *float64
		min, max float64
	}{
		{"latency_ms", p.LatencyMS, &set.LatencyMS, 0, 60000},
		{"jitter", p.Jitter, &set.Jitter, 0, 3},
		{"cpu_ms", p.CPUMS, &set.CPUMS, 0, 10000},
		{"alloc_kb", p.AllocKB, &set.AllocKB, 0, 1 << 20},
		{"error_ratio", p.ErrorRatio, &set.ErrorRatio, 0, 1},
	}
	for _, f := range fields {
		if f.val == nil {
			continue
		}
		if math.IsNaN(*f.val) || *f.val < f.min || *f.val > f.max {
			return Settings{}, fmt.Errorf("%s: %g is not between %g and %g", f.name, *f.val, f.min, f.max)
		}
		*f.dst = *f.val
	}
	s.settings[p.Route] = set
	return set, nil
}

func writeJSON(w http.ResponseWriter, v interface{}) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}
