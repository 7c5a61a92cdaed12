package gcp

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/evcli/evcli/providers"
)

// The event store on Google Cloud is a Firestore collection (evcli.yaml's
// store.table), one document per event, named by the event id so that
// writing an event twice stores it once. Its fields are named by
// store.keys, as on DynamoDB:
//
//	aggregateId  string      the aggregate (from the detail, as every store reads it)
//	timestamp    timestamp   the event's time: what windows and order use
//	eventId      string      the envelope id
//	eventType    string      the detail-type
//	data         string      the detail, JSON
//	version      integer     the aggregate version
//	source, correlationId    strings
//	<ttl key>    timestamp   when Firestore's TTL policy on that field may delete it (store.ttlDays)
//
// Reads query the time window (single-field index, which Firestore keeps
// by itself) in time order and select aggregates and types as they stream,
// so no composite index has to exist before the first replay.

// FirestoreStore reads (and Write fills) the project's Firestore collection.
type FirestoreStore struct {
	client     *firestore.Client
	collection string
	keys       providers.StoreKeys
	ttlDays    int
	region     string
}

// storeKeys fills the attribute names evcli.yaml did not set.
func storeKeys(k providers.StoreKeys) providers.StoreKeys {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&k.Aggregate, "aggregateId")
	set(&k.Sort, "timestamp")
	set(&k.ID, "eventId")
	set(&k.Type, "eventType")
	set(&k.Data, "data")
	set(&k.Version, "version")
	set(&k.TTL, "expiresAt")
	return k
}

// firestoreCreds is what the emulator wants of a client (an owner token).
type firestoreCreds struct{}

func (firestoreCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}
func (firestoreCreds) RequireTransportSecurity() bool { return false }

func newFirestoreStore(ctx context.Context, c *config, o providers.OpenOptions) (*FirestoreStore, error) {
	opts := c.clientOptions(c.firestore)
	if c.firestore.plain {
		// As the client does for FIRESTORE_EMULATOR_HOST, which it reads
		// from the process environment, not from OpenOptions.Getenv.
		conn, err := grpc.NewClient(c.firestore.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(firestoreCreds{}),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
		if err != nil {
			return nil, classify("firestore", err)
		}
		opts = []option.ClientOption{option.WithGRPCConn(conn)}
	}
	client, err := firestore.NewClient(ctx, c.cloudProject, opts...)
	if err != nil {
		return nil, classify("firestore", err)
	}
	coll := o.Store.Table
	if coll == "" {
		coll = "evcli-" + o.Project + "-events"
	}
	return &FirestoreStore{client: client, collection: coll, keys: storeKeys(o.Store.Keys), ttlDays: o.Store.TTLDays, region: c.region}, nil
}

// Close releases the client.
func (s *FirestoreStore) Close() error { return s.client.Close() }

// As exposes the client: **firestore.Client.
func (s *FirestoreStore) As(target any) bool {
	if t, ok := target.(**firestore.Client); ok {
		*t = s.client
		return true
	}
	return false
}

// Collection is the collection's name.
func (s *FirestoreStore) Collection() string { return s.collection }

// Events yields the events q selects in time order (ties by event id),
// streaming Firestore's query results.
func (s *FirestoreStore) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		query := s.client.Collection(s.collection).Query
		if !q.Since.IsZero() {
			query = query.Where(s.keys.Sort, ">=", q.Since.UTC())
		}
		if !q.Until.IsZero() {
			query = query.Where(s.keys.Sort, "<", q.Until.UTC())
		}
		query = query.OrderBy(s.keys.Sort, firestore.Asc).OrderBy(firestore.DocumentID, firestore.Asc)
		it := query.Documents(ctx)
		defer it.Stop()
		n := 0
		for {
			doc, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return
			}
			if err != nil {
				yield(providers.StoredEvent{}, classify("firestore collection "+s.collection, err))
				return
			}
			ev, err := s.fromDoc(doc)
			if err != nil {
				if !yield(providers.StoredEvent{}, err) {
					return
				}
				continue
			}
			if len(q.AggregateIDs) > 0 && !slices.Contains(q.AggregateIDs, ev.AggregateID) {
				continue
			}
			if len(q.Types) > 0 && !slices.Contains(q.Types, ev.DetailType) {
				continue
			}
			if q.ExcludeReplays && providers.IsReplayDetail(ev.Detail) {
				continue
			}
			if !yield(ev, nil) {
				return
			}
			if n++; q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
}

func (s *FirestoreStore) fromDoc(doc *firestore.DocumentSnapshot) (providers.StoredEvent, error) {
	d := doc.Data()
	str := func(k string) string { v, _ := d[k].(string); return v }
	t, ok := d[s.keys.Sort].(time.Time)
	if !ok {
		return providers.StoredEvent{}, &providers.Error{Code: providers.InvalidArgument, Resource: "firestore document " + doc.Ref.Path,
			Err: fmt.Errorf("field %s is not a timestamp", s.keys.Sort)}
	}
	ev := providers.StoredEvent{
		Event: providers.Event{Version: "0", ID: str(s.keys.ID), DetailType: str(s.keys.Type), Source: str("source"),
			Time: t.UTC(), Region: s.region, Resources: []string{}, Detail: []byte(str(s.keys.Data))},
		AggregateID:   str(s.keys.Aggregate),
		CorrelationID: str("correlationId"),
	}
	if ev.ID == "" {
		ev.ID = doc.Ref.ID
	}
	if len(ev.Detail) == 0 {
		ev.Detail = []byte("{}")
	}
	switch v := d[s.keys.Version].(type) {
	case int64:
		ev.AggregateVersion = v
	case float64:
		ev.AggregateVersion = int64(v)
	}
	return ev, nil
}

// Write stores evs, each under its event id, with the TTL field when the
// store has a TTL: what the project's writer does with every event of the
// bus. An event already stored is left as it is (idempotent on the id).
func (s *FirestoreStore) Write(ctx context.Context, evs []providers.StoredEvent) error {
	bw := s.client.BulkWriter(ctx)
	jobs := make([]*firestore.BulkWriterJob, 0, len(evs))
	for _, ev := range evs {
		if ev.ID == "" {
			bw.End()
			return &providers.Error{Code: providers.InvalidArgument, Resource: "firestore collection " + s.collection, Err: errors.New("an event without an id")}
		}
		doc := map[string]any{
			s.keys.Aggregate: ev.AggregateID,
			s.keys.Sort:      ev.Time.UTC(),
			s.keys.ID:        ev.ID,
			s.keys.Type:      ev.DetailType,
			s.keys.Data:      string(ev.Detail),
			s.keys.Version:   ev.AggregateVersion,
			"source":         ev.Source,
		}
		if ev.CorrelationID != "" {
			doc["correlationId"] = ev.CorrelationID
		}
		if s.ttlDays > 0 {
			doc[s.keys.TTL] = ev.Time.UTC().AddDate(0, 0, s.ttlDays)
		}
		j, err := bw.Create(s.client.Collection(s.collection).Doc(ev.ID), doc)
		if err != nil {
			bw.End()
			return classify("firestore collection "+s.collection, err)
		}
		jobs = append(jobs, j)
	}
	bw.End()
	for i, j := range jobs {
		if _, err := j.Results(); err != nil {
			if st, ok := grpcStatus(err); ok && st.Code() == codes.AlreadyExists {
				continue // stored before: the write is idempotent on the id
			}
			return classify("event "+evs[i].ID, err)
		}
	}
	return nil
}

var _ providers.EventStore = (*FirestoreStore)(nil)
