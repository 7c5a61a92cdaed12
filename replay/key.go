package replay

import (
	"cmp"
	"strings"
	"time"

	"github.com/evcli/evcli/providers"
)

// Order is the order in which events are published.
type Order string

const (
	// OrderAggregate publishes each aggregate's events by version, then
	// time (the default). Events without an aggregate come first, by time.
	OrderAggregate Order = "aggregate"
	// OrderTime publishes all events in global time order (ties by
	// aggregate, version, id).
	OrderTime Order = "time"
)

// ParseOrder parses the --order flag.
func ParseOrder(s string) (Order, error) {
	switch Order(s) {
	case "", OrderAggregate:
		return OrderAggregate, nil
	case OrderTime:
		return OrderTime, nil
	}
	return "", &InputError{Field: "--order", Msg: `invalid value "` + s + `": use "aggregate" or "time"`}
}

// Key is an event's position in the replay order. Keys are totally ordered
// for an Order (the event id breaks every tie), which is what makes a replay
// deterministic and resumable: a checkpoint stores keys, not offsets.
type Key struct {
	Aggregate string    `json:"aggregate,omitempty"`
	Version   int64     `json:"version,omitempty"`
	Time      time.Time `json:"time"`
	ID        string    `json:"id"`
}

// KeyOf returns ev's key.
func KeyOf(ev *providers.StoredEvent) Key {
	return Key{Aggregate: ev.AggregateID, Version: ev.AggregateVersion, Time: ev.Time, ID: ev.ID}
}

// KeyRange is a closed range [First, Last] of keys: one acknowledged batch.
type KeyRange struct {
	First Key `json:"first"`
	Last  Key `json:"last"`
}

// Compare compares keys a and b in order o.
func (o Order) Compare(a, b Key) int {
	if o == OrderTime {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.Aggregate, b.Aggregate); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Version, b.Version); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}
	if c := strings.Compare(a.Aggregate, b.Aggregate); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

func (o Order) compareEvents(a, b *providers.StoredEvent) int {
	if o == OrderTime {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.AggregateID, b.AggregateID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.AggregateVersion, b.AggregateVersion); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}
	if c := strings.Compare(a.AggregateID, b.AggregateID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.AggregateVersion, b.AggregateVersion); c != 0 {
		return c
	}
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}
