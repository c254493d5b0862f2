package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"sync"
	"time"
)

const (
	goodVersion = "1.4.2"
	slowVersion = "1.4.3"
	// The pricing service's answer time, waited once per pricing request.
	pricingWait = 5 * time.Millisecond
)

type release struct {
	revision string
	validate func(*Cart, *rand.Rand) (int64, error)
}

var releases = map[string]release{
	goodVersion: {revision: "a1c4e2f", validate: validateCart},
	slowVersion: {revision: "9b7d013", validate: validate_cart_v2},
}

// LineItem and Cart are what the checkout routes validate: sizeable enough (tags,
// attributes) that encoding/json shows in profiles.
type LineItem struct {
	SKU        string            `json:"sku"`
	Name       string            `json:"name"`
	Quantity   int               `json:"quantity"`
	UnitCents  int64             `json:"unit_cents"`
	Tags       []string          `json:"tags"`
	Attributes map[string]string `json:"attributes"`
}

type Cart struct {
	ID       string     `json:"id"`
	Customer string     `json:"customer"`
	Currency string     `json:"currency"`
	Coupons  []string   `json:"coupons"`
	Items    []LineItem `json:"items"`
}

// newCart draws a cart: lognormal item count (median 8, up to 48), as carts are.
func newCart(rng *rand.Rand) *Cart {
	n := int(math.Round(8 * math.Exp(0.6*rng.NormFloat64())))
	if n < 1 {
		n = 1
	} else if n > 48 {
		n = 48
	}
	c := &Cart{
		ID:       "c-" + strconv.FormatInt(rng.Int63(), 36),
		Customer: "cust-" + strconv.Itoa(rng.Intn(100000)),
		Currency: "EUR",
		Coupons:  []string{"WELCOME10"},
		Items:    make([]LineItem, n),
	}
	for i := range c.Items {
		sku := rng.Intn(50000)
		c.Items[i] = LineItem{
			SKU:       fmt.Sprintf("SKU-%05d", sku),
			Name:      fmt.Sprintf("catalogue item %d, size %d", sku, 36+rng.Intn(12)),
			Quantity:  1 + rng.Intn(3),
			UnitCents: int64(199 + rng.Intn(20000)),
			Tags:      []string{"in-stock", "warehouse-" + strconv.Itoa(rng.Intn(9)), "promo"},
			Attributes: map[string]string{
				"colour": []string{"red", "blue", "black", "white"}[rng.Intn(4)],
				"origin": "EU", "gift": strconv.FormatBool(rng.Intn(5) == 0),
			},
		}
	}
	return c
}

// validateCart (1.4.2) prices the cart with one pricing request carrying the whole cart.
func validateCart(c *Cart, _ *rand.Rand) (int64, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	time.Sleep(pricingWait)
	var priced Cart
	if err := json.Unmarshal(payload, &priced); err != nil {
		return 0, err
	}
	return cartTotal(&priced), nil
}

// validate_cart_v2 (1.4.3) re-prices every line item on its own, and sends the whole cart
// with each pricing request: one JSON round trip and one pricing wait per item, so a big cart
// costs its size squared in encoding/json and its size in waits. The release's regression.
//
//go:noinline
func validate_cart_v2(c *Cart, _ *rand.Rand) (int64, error) {
	var total int64
	for i := range c.Items {
		payload, err := json.Marshal(c)
		if err != nil {
			return 0, err
		}
		time.Sleep(pricingWait)
		var priced Cart
		if err := json.Unmarshal(payload, &priced); err != nil {
			return 0, err
		}
		if priced.Items[i].SKU != c.Items[i].SKU {
			return 0, fmt.Errorf("pricing answered for %s, asked for %s", priced.Items[i].SKU, c.Items[i].SKU)
		}
		total += priced.Items[i].UnitCents * int64(priced.Items[i].Quantity)
	}
	return total, nil
}

func cartTotal(c *Cart) int64 {
	var total int64
	for _, it := range c.Items {
		total += it.UnitCents * int64(it.Quantity)
	}
	return total
}

// recentOrders keeps the last carts validated (what a heap profile's inuse_space shows).
type recentOrders struct {
	mu    sync.Mutex
	carts []*Cart
	next  int
}

func newRecentOrders(n int) *recentOrders { return &recentOrders{carts: make([]*Cart, n)} }

func (r *recentOrders) add(c *Cart) {
	r.mu.Lock()
	r.carts[r.next] = c
	r.next = (r.next + 1) % len(r.carts)
	r.mu.Unlock()
}
