package aws

import (
	"context"
	"encoding/json"
	"iter"
	"sync"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/replay"
)

// replayRecordBus accepts everything and keeps the replay markers, in order.
type replayRecordBus struct {
	mu      sync.Mutex
	markers []replay.Marker
}

func (b *replayRecordBus) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]providers.PublishResult, len(evs))
	for i, ev := range evs {
		var d struct {
			R replay.Marker `json:"_replay"`
		}
		_ = json.Unmarshal(ev.Detail, &d)
		b.markers = append(b.markers, d.R)
		out[i].EventID = ev.ID
	}
	return out, nil
}

type replaySliceStore []providers.StoredEvent

func (s replaySliceStore) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		for _, ev := range s {
			if !yield(ev, nil) {
				return
			}
		}
	}
}
