package replay

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/evcli/evcli/providers"
)

// KVNamespace is the namespace replay records are stored under.
const KVNamespace = "replay"

// KVCheckpoints stores replay records as JSON in a KV store. When the KV
// store can lease a key (KVLeaser, as the local provider's can), a replay
// name is a lease (Leaser).
type KVCheckpoints struct{ KV providers.KV }

// KVLeaser is an optional ability of a KV store: an exclusive hold on a
// key by one process at a time, or an error naming the holder (with a
// method Held() bool that returns true when another process holds it).
type KVLeaser interface {
	LeaseKV(ctx context.Context, ns, key string) (release func(), err error)
}

func (c KVCheckpoints) Get(ctx context.Context, name string) (Record, bool, error) {
	b, ok, err := c.KV.GetKV(ctx, KVNamespace, name)
	if err != nil || !ok {
		return Record{}, ok, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, false, fmt.Errorf("replay record %s: %w", name, err)
	}
	return r, true, nil
}

func (c KVCheckpoints) Put(ctx context.Context, rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return c.KV.PutKV(ctx, KVNamespace, rec.Name, b)
}

func (c KVCheckpoints) List(ctx context.Context) ([]Record, error) {
	m, err := c.KV.ListKV(ctx, KVNamespace)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(m))
	for k, b := range m {
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("replay record %s: %w", k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

var _ Checkpoints = KVCheckpoints{}
