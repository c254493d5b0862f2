package main

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	defaultMix  = "/api/cart=5,/api/order/create=3,/api/pay=2"
	maxInFlight = 512 // beyond this many requests waiting, arrivals are dropped (and counted)
)

type mixEntry struct {
	route, method string
	weight        float64
}

// parseMix reads "route=weight,..." (routes of this service, positive weights).
func parseMix(spec string) ([]mixEntry, error) {
	var mix []mixEntry
	for _, part := range strings.Split(spec, ",") {
		route, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%q is not route=weight", part)
		}
		weight, err := strconv.ParseFloat(w, 64)
		if err != nil || !(weight > 0) {
			return nil, fmt.Errorf("%q: the weight must be a positive number", part)
		}
		known := false
		for _, s := range defaultSettings {
			known = known || s.Route == route
		}
		if !known {
			return nil, fmt.Errorf("%q: no such route", route)
		}
		method := http.MethodPost
		if route == "/api/cart" || route == "/healthz" {
			method = http.MethodGet
		}
		mix = append(mix, mixEntry{route, method, weight})
	}
	return mix, nil
}

// load is an open-loop generator: Poisson arrivals at `rps`, each request on its own
// goroutine, so a slow route makes requests pile up as real traffic would.
type load struct {
	base     string
	rps      float64
	mix      []mixEntry
	total    float64
	rng      *rand.Rand
	client   *http.Client
	inFlight atomic.Int64
	dropped  atomic.Int64
}

func newLoad(base string, rps float64, mix []mixEntry, seed int64, conns int) *load {
	l := &load{base: base, rps: rps, mix: mix, rng: rand.New(rand.NewSource(seed + 7))}
	for _, m := range mix {
		l.total += m.weight
	}
	l.client = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: maxInFlight, MaxConnsPerHost: conns},
	}
	return l
}

func (l *load) pick() mixEntry {
	x := l.rng.Float64() * l.total
	for _, m := range l.mix {
		if x < m.weight {
			return m
		}
		x -= m.weight
	}
	return l.mix[len(l.mix)-1]
}

func (l *load) run(ctx context.Context) {
	next := time.Now()
	for {
		next = next.Add(time.Duration(l.rng.ExpFloat64() / l.rps * float64(time.Second)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		if l.inFlight.Load() >= maxInFlight {
			l.dropped.Add(1)
			continue
		}
		l.inFlight.Add(1)
		go l.send(ctx, l.pick())
	}
}

func (l *load) send(ctx context.Context, m mixEntry) {
	defer l.inFlight.Add(-1)
	req, err := http.NewRequestWithContext(ctx, m.method, l.base+m.route, nil)
	if err != nil {
		return
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
