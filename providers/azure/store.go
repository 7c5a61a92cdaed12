package azure

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/evcli/evcli/providers"
)

// The event store on Cosmos DB (NoSQL API). One container holds the
// project's events, one item per event:
//
//	id            the event id (hashed when it holds a character Cosmos ids refuse)
//	aggregateId   the partition key: the aggregate, or "evcli:event:<id>" for an
//	              event without one (a partition key cannot be empty)
//	time          the event's time, RFC 3339 in UTC with nine fraction digits,
//	              so that strings sort as times
//	eventId, eventType, data (the detail as JSON), version, source,
//	correlationId, replayed, ttl (seconds, when the project keeps events
//	for store.ttlDays)
//
// and, per aggregate appended through Append, a head item (id "evcli-head")
// holding the aggregate's last version and the event that set it: Append
// moves the head (If-Match on the etag it read) and puts the event in one
// transactional batch, so two writers appending to one aggregate cannot
// both win, and an event already stored (same id) is a no-op. The
// attribute names follow store.keys in evcli.yaml; the aggregate id,
// version and correlation id are read from the detail as every evcli store
// reads them (providers.DeriveEventKeys, shared with the local store).
//
// Reads: with aggregates, one single-partition query per aggregate ordered
// by time; otherwise one cross-partition query (the gateway serves those
// only without ORDER BY), which yields each logical partition's items in
// the order they were written: Append writes an aggregate's versions in
// order, so each aggregate's events still arrive in version order.

// cosmosNoAggregate prefixes the event id as the partition key of an event
// without an aggregate, as the AWS writer does.
const cosmosNoAggregate = "evcli:event:"

// cosmosHeadID is the id of an aggregate's head item.
const cosmosHeadID = "evcli-head"

// cosmosTimeLayout writes times that sort as strings.
const cosmosTimeLayout = "2006-01-02T15:04:05.000000000Z"

// cosmosConfig configures a cosmosStore. Endpoint and one of Credential or
// Key are required.
type cosmosConfig struct {
	// Endpoint is the account's document endpoint
	// (https://<account>.documents.azure.com:443/) or an emulator's.
	Endpoint string
	// Credential authenticates with Microsoft Entra ID; Key with the
	// account key (emulators). Key wins when both are set.
	Credential azcore.TokenCredential
	Key        string
	// Database and Container hold the events (defaults "evcli" and
	// "events").
	Database, Container string
	Keys                providers.StoreKeys
	// TTLDays keeps events that long (0: for ever).
	TTLDays int
	// Source fills the envelope of events stored without one (default
	// "evcli.eventstore"); Region fills its region.
	Source, Region string
	// PageSize is the page size hint of each query (0: the service's).
	PageSize int32
	// ClientOptions reach the SDK client (a test's transport).
	ClientOptions *azcosmos.ClientOptions
}

func (c *cosmosConfig) defaults() {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.Database, "evcli")
	set(&c.Container, "events")
	set(&c.Keys.Aggregate, "aggregateId")
	set(&c.Keys.Sort, "time")
	set(&c.Keys.ID, "eventId")
	set(&c.Keys.Type, "eventType")
	set(&c.Keys.Data, "data")
	set(&c.Keys.Version, "version")
	set(&c.Source, "evcli.eventstore")
}

// cosmosStore is the Cosmos DB event store.
type cosmosStore struct {
	cfg       cosmosConfig
	client    *azcosmos.Client
	container *azcosmos.ContainerClient
}

// newCosmosStore returns the store of cfg; it makes no call (the container
// is created by ensure, the deployer's shared step).
func newCosmosStore(_ context.Context, cfg cosmosConfig) (*cosmosStore, error) {
	cfg.defaults()
	if cfg.Endpoint == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "cosmos db", Err: errors.New("no account endpoint"),
			Hint: "set EVCLI_AZURE_COSMOS_ENDPOINT to the account's endpoint (https://<account>.documents.azure.com:443/)"}
	}
	var (
		client *azcosmos.Client
		err    error
	)
	switch {
	case cfg.Key != "":
		var cred azcosmos.KeyCredential
		if cred, err = azcosmos.NewKeyCredential(cfg.Key); err == nil {
			client, err = azcosmos.NewClientWithKey(cfg.Endpoint, cred, cfg.ClientOptions)
		}
	case cfg.Credential != nil:
		client, err = azcosmos.NewClient(cfg.Endpoint, cfg.Credential, cfg.ClientOptions)
	default:
		return nil, &providers.Error{Code: providers.Unauthenticated, Resource: "cosmos db " + cfg.Endpoint, Err: errors.New("no credential"),
			Hint: "sign in with az login (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET), or give the account key"}
	}
	if err != nil {
		e := &providers.Error{Code: providers.InvalidArgument, Resource: "cosmos db " + cfg.Endpoint, Err: err}
		if cfg.Key != "" {
			e.Hint = "the account key (" + envCosmosKey + ") is the base64 key the account's Keys page shows"
		}
		return nil, e
	}
	ctr, err := client.NewContainer(cfg.Database, cfg.Container)
	if err != nil {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "cosmos db " + cfg.Endpoint, Err: err}
	}
	return &cosmosStore{cfg: cfg, client: client, container: ctr}, nil
}

// cosmosStoreType is store.type in evcli.yaml for this store.
const cosmosStoreType = "cosmos"

// envCosmosKey holds a Cosmos DB account key (emulators); without it the
// store authenticates with Microsoft Entra ID.
const envCosmosKey = "EVCLI_AZURE_COSMOS_KEY"

// cosmosConfigFor is the store configuration of an opened project, for
// Open to pass to newCosmosStore: store.type cosmos, store.table naming
// the container ("events") or the database and container
// ("evcli/events"), store.keys and store.ttlDays; endpoint is the
// account's (Open's EVCLI_AZURE_COSMOS_ENDPOINT, or the account deploy
// made); EVCLI_AZURE_COSMOS_KEY, when set, authenticates with the account
// key (an emulator), else cred. ok is false when the project has no Cosmos
// DB store (store.type empty or local).
// projectDefaultTTLKey is evcli.yaml's default store.keys.ttl
// (project.DefaultStoreKeys.TTL).
const projectDefaultTTLKey = "expiresAt"

func cosmosConfigFor(o providers.OpenOptions, endpoint string, cred azcore.TokenCredential) (cfg cosmosConfig, ok bool, err error) {
	switch o.Store.Type {
	case "", "local":
		return cfg, false, nil
	case cosmosStoreType:
	default:
		return cfg, false, &providers.Error{Code: providers.InvalidArgument, Resource: "azure",
			Err:  fmt.Errorf("the azure provider reads a cosmos event store; evcli.yaml's store.type is %q", o.Store.Type),
			Hint: "set store.type to cosmos (with store.table naming the container), or remove the store section"}
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg = cosmosConfig{Endpoint: endpoint, Credential: cred, Key: getenv(envCosmosKey), Keys: o.Store.Keys, TTLDays: o.Store.TTLDays, Region: cmp.Or(o.Location, o.Region)}
	if db, ctr, found := strings.Cut(o.Store.Table, "/"); found {
		cfg.Database, cfg.Container = db, ctr
	} else {
		cfg.Container = o.Store.Table
	}
	if strings.Contains(cfg.Container, "/") || o.Store.Table != "" && (cfg.Container == "" || cfg.Database == "" && strings.Contains(o.Store.Table, "/")) {
		return cfg, false, &providers.Error{Code: providers.InvalidArgument, Resource: "azure",
			Err:  fmt.Errorf("store.table %q: want a container (events) or a database and a container (evcli/events)", o.Store.Table),
			Hint: "set store.table to \"events\" or \"evcli/events\""}
	}
	// evcli.yaml's default TTL attribute (expiresAt, which every project
	// has unless it names another) is Cosmos DB's ttl here.
	if o.Store.Keys.TTL != "" && o.Store.Keys.TTL != "ttl" && o.Store.Keys.TTL != projectDefaultTTLKey {
		return cfg, false, &providers.Error{Code: providers.InvalidArgument, Resource: "azure",
			Err:  fmt.Errorf("store.keys.ttl %q: Cosmos DB expires items by their \"ttl\" attribute only", o.Store.Keys.TTL),
			Hint: "leave store.keys.ttl out (or set it to ttl) and set store.ttlDays"}
	}
	if cfg.Endpoint == "" {
		return cfg, false, &providers.Error{Code: providers.Unconfigured, Resource: "azure cosmos db", Err: errors.New("no Cosmos DB account endpoint"),
			Hint: "set EVCLI_AZURE_COSMOS_ENDPOINT to the account's endpoint (https://<account>.documents.azure.com:443/)"}
	}
	return cfg, true, nil
}

func (s *cosmosStore) resource() string {
	return "cosmos db container " + s.cfg.Database + "/" + s.cfg.Container
}

// As exposes the SDK clients: **azcosmos.Client or **azcosmos.ContainerClient.
func (s *cosmosStore) As(target any) bool {
	switch t := target.(type) {
	case **azcosmos.Client:
		*t = s.client
		return true
	case **azcosmos.ContainerClient:
		*t = s.container
		return true
	}
	return false
}

// cosmosPlan says what ensure would do: "create", "update" (the TTL
// differs) or "unchanged", and the fields that differ.
func (s *cosmosStore) plan(ctx context.Context) (providers.ResourceChange, error) {
	c := providers.ResourceChange{Kind: "table", Name: s.cfg.Database + "/" + s.cfg.Container}
	resp, err := s.container.Read(ctx, nil)
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			c.Action = "create"
			return c, nil
		}
		return c, classifyIn(svcCosmos, s.resource(), err)
	}
	c.Action = "unchanged"
	props := resp.ContainerProperties
	if props == nil {
		return c, nil
	}
	if p := props.PartitionKeyDefinition.Paths; len(p) != 1 || p[0] != "/"+s.cfg.Keys.Aggregate {
		return c, &providers.Error{Code: providers.InvalidArgument, Resource: s.resource(),
			Err:  fmt.Errorf("its partition key is %v, store.keys.aggregate says %q", p, s.cfg.Keys.Aggregate),
			Hint: "set store.keys.aggregate in evcli.yaml to the container's partition key path (without the /), or name another container"}
	}
	if want := s.defaultTTL(); !equalTTL(props.DefaultTimeToLive, want) {
		c.Action, c.Fields = "update", []string{"ttl"}
	}
	return c, nil
}

// defaultTTL is the container's default TTL: -1 (on, per item) when the
// project keeps events for a while, nil (off) otherwise.
func (s *cosmosStore) defaultTTL() *int32 {
	if s.cfg.TTLDays <= 0 {
		return nil
	}
	v := int32(-1)
	return &v
}

func equalTTL(a, b *int32) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// ensure creates the database and container (partition key the aggregate,
// TTL per item) or sets the container's TTL, as plan said.
func (s *cosmosStore) ensure(ctx context.Context, c providers.ResourceChange) error {
	switch c.Action {
	case "create":
		if _, err := s.client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: s.cfg.Database}, nil); err != nil && statusOf(err) != http.StatusConflict {
			return classifyIn(svcCosmos, "cosmos db database "+s.cfg.Database, err)
		}
		db, err := s.client.NewDatabase(s.cfg.Database)
		if err != nil {
			return classifyIn(svcCosmos, s.resource(), err)
		}
		props := azcosmos.ContainerProperties{ID: s.cfg.Container, DefaultTimeToLive: s.defaultTTL(),
			PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/" + s.cfg.Keys.Aggregate}}}
		if _, err := db.CreateContainer(ctx, props, nil); err != nil && statusOf(err) != http.StatusConflict {
			return classifyIn(svcCosmos, s.resource(), err)
		}
	case "update":
		resp, err := s.container.Read(ctx, nil)
		if err != nil {
			return classifyIn(svcCosmos, s.resource(), err)
		}
		props := *resp.ContainerProperties
		props.DefaultTimeToLive = s.defaultTTL()
		if _, err := s.container.Replace(ctx, props, nil); err != nil {
			return classifyIn(svcCosmos, s.resource(), err)
		}
	}
	return nil
}

// cosmosItemID is the Cosmos id of an event id: itself unless it holds a
// character ids refuse, is too long, or is the head's id.
func cosmosItemID(id string) string {
	if id != "" && id != cosmosHeadID && len(id) <= 255 && !strings.ContainsAny(id, `/\?#`) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "evcli-" + hex.EncodeToString(sum[:20])
}

// item is the Cosmos item of ev, whose keys DeriveKeys has filled.
func (s *cosmosStore) item(ev providers.StoredEvent) ([]byte, string) {
	k := s.cfg.Keys
	pk := ev.AggregateID
	if pk == "" {
		pk = cosmosNoAggregate + ev.ID
	}
	it := map[string]any{
		"id":        cosmosItemID(ev.ID),
		k.Aggregate: pk,
		k.Sort:      ev.Time.UTC().Format(cosmosTimeLayout),
		k.ID:        ev.ID,
		k.Type:      ev.DetailType,
		"source":    ev.Source,
	}
	detail := ev.Detail
	if len(detail) == 0 || !json.Valid(detail) {
		b, _ := json.Marshal(string(detail))
		if len(detail) == 0 {
			b = []byte("{}")
		}
		detail = b
	}
	it[k.Data] = json.RawMessage(detail)
	if ev.AggregateVersion != 0 {
		it[k.Version] = ev.AggregateVersion
	}
	if ev.CorrelationID != "" {
		it["correlationId"] = ev.CorrelationID
	}
	if providers.IsReplayDetail(ev.Detail) {
		it["replayed"] = true
	}
	if s.cfg.TTLDays > 0 {
		it["ttl"] = s.cfg.TTLDays * 86400
	}
	b, _ := json.Marshal(it)
	return b, pk
}

// cosmosDeriveKeys fills what ev lacks of its aggregate id, version and
// correlation id from its detail by every evcli store's rules
// (providers.DeriveEventKeys).
func cosmosDeriveKeys(ev *providers.StoredEvent) {
	if ev.AggregateID != "" && ev.AggregateVersion != 0 && ev.CorrelationID != "" {
		return
	}
	providers.DeriveEventKeys(ev)
}

// cosmosHead is an aggregate's head item.
type cosmosHead struct {
	ID        string `json:"id"`
	Version   int64  `json:"version"`
	EventID   string `json:"eventId"`
	EvcliHead bool   `json:"evcliHead"`
}

// cosmosAppendTries bounds Append's retries when other writers move the head.
const cosmosAppendTries = 8

// Append stores ev, idempotent on its id. An event of a versioned aggregate
// is appended optimistically: it must carry a version above the aggregate's
// head, and the head moves with If-Match on the etag read, in the same
// transactional batch as the event; a version at or below the head's is a
// Conflict unless the event is already stored.
func (s *cosmosStore) Append(ctx context.Context, ev providers.StoredEvent) error {
	if ev.ID == "" {
		return &providers.Error{Code: providers.InvalidArgument, Resource: s.resource(), Err: errors.New("an event without an id")}
	}
	cosmosDeriveKeys(&ev)
	body, pk := s.item(ev)
	key := azcosmos.NewPartitionKeyString(pk)
	res := fmt.Sprintf("%s (aggregate %s, event %s)", s.resource(), pk, ev.ID)
	if ev.AggregateID == "" || ev.AggregateVersion == 0 {
		if _, err := s.container.CreateItem(ctx, key, body, nil); err != nil && statusOf(err) != http.StatusConflict {
			return classifyIn(svcCosmos, res, err)
		}
		return nil
	}
	for range cosmosAppendTries {
		head, etag, found, err := s.readHead(ctx, key)
		if err != nil {
			return classifyIn(svcCosmos, res, err)
		}
		if head.Version >= ev.AggregateVersion {
			if head.EventID == ev.ID || s.stored(ctx, key, ev.ID) {
				return nil
			}
			return &providers.Error{Code: providers.Conflict, Resource: res,
				Err:  fmt.Errorf("version %d is taken: the aggregate is at version %d", ev.AggregateVersion, head.Version),
				Hint: "read the aggregate again and append its next version"}
		}
		hb, _ := json.Marshal(cosmosHead{ID: cosmosHeadID, Version: ev.AggregateVersion, EventID: ev.ID, EvcliHead: true})
		hb = withPartition(hb, s.cfg.Keys.Aggregate, pk)
		// The head goes first: when its If-Match fails the event is not
		// written, even on a backend that does not roll a batch back.
		b := s.container.NewTransactionalBatch(key)
		if found {
			b.ReplaceItem(cosmosHeadID, hb, &azcosmos.TransactionalBatchItemOptions{IfMatchETag: &etag})
		} else {
			b.CreateItem(hb, nil)
		}
		b.CreateItem(body, nil)
		resp, err := s.container.ExecuteTransactionalBatch(ctx, b, nil)
		if err != nil {
			return classifyIn(svcCosmos, res, err)
		}
		if batchSucceeded(resp) {
			return nil
		}
		head0, ev0 := batchStatus(resp, 0), batchStatus(resp, 1)
		switch {
		case ev0 == http.StatusConflict:
			return nil // already stored
		case head0 == http.StatusPreconditionFailed || head0 == http.StatusConflict:
			continue // another writer moved the head: read it again
		}
		return classifyIn(svcCosmos, res, fmt.Errorf("the append batch failed: event %d, head %d", ev0, head0))
	}
	return &providers.Error{Code: providers.Conflict, Resource: res,
		Err: fmt.Errorf("the aggregate's head moved %d times while appending", cosmosAppendTries), Hint: "retry the append"}
}

// batchSucceeded says whether every operation of a batch succeeded: the
// SDK's Success reads the response's 207 (Multi-Status); each operation's
// status is checked too, for a backend that answers a failed batch with 200
// (cosmosdb-server does).
func batchSucceeded(r azcosmos.TransactionalBatchResponse) bool {
	if !r.Success {
		return false
	}
	for _, op := range r.OperationResults {
		if op.StatusCode >= 400 {
			return false
		}
	}
	return true
}

func batchStatus(r azcosmos.TransactionalBatchResponse, i int) int {
	if i < len(r.OperationResults) {
		return int(r.OperationResults[i].StatusCode)
	}
	return 0
}

// withPartition adds the partition key attribute to a JSON object.
func withPartition(obj []byte, attr, pk string) []byte {
	var m map[string]any
	_ = json.Unmarshal(obj, &m)
	m[attr] = pk
	b, _ := json.Marshal(m)
	return b
}

func (s *cosmosStore) readHead(ctx context.Context, key azcosmos.PartitionKey) (cosmosHead, azcore.ETag, bool, error) {
	resp, err := s.container.ReadItem(ctx, key, cosmosHeadID, nil)
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return cosmosHead{}, "", false, nil
		}
		return cosmosHead{}, "", false, err
	}
	var h cosmosHead
	if err := json.Unmarshal(resp.Value, &h); err != nil {
		return h, "", false, fmt.Errorf("the head item: %v", err)
	}
	etag := resp.ETag
	if etag == "" {
		var meta struct {
			ETag string `json:"_etag"`
		}
		_ = json.Unmarshal(resp.Value, &meta)
		etag = azcore.ETag(meta.ETag)
	}
	return h, etag, true, nil
}

func (s *cosmosStore) stored(ctx context.Context, key azcosmos.PartitionKey, id string) bool {
	_, err := s.container.ReadItem(ctx, key, cosmosItemID(id), nil)
	return err == nil
}

// quoteProp is a property reference in Cosmos SQL: c["name"].
func quoteProp(name string) string {
	b, _ := json.Marshal(name)
	return "c[" + string(b) + "]"
}

// query is the SQL text and parameters selecting q's events; agg, when
// set, narrows it to one aggregate and orders by time.
func (s *cosmosStore) query(q providers.EventQuery, agg string) (string, []azcosmos.QueryParameter) {
	k := s.cfg.Keys
	where := []string{"NOT IS_DEFINED(c.evcliHead)"}
	var params []azcosmos.QueryParameter
	if agg != "" {
		where = append(where, quoteProp(k.Aggregate)+" = @agg")
		params = append(params, azcosmos.QueryParameter{Name: "@agg", Value: agg})
	}
	if !q.Since.IsZero() {
		where = append(where, quoteProp(k.Sort)+" >= @since")
		params = append(params, azcosmos.QueryParameter{Name: "@since", Value: q.Since.UTC().Format(cosmosTimeLayout)})
	}
	if !q.Until.IsZero() {
		where = append(where, quoteProp(k.Sort)+" < @until")
		params = append(params, azcosmos.QueryParameter{Name: "@until", Value: q.Until.UTC().Format(cosmosTimeLayout)})
	}
	if len(q.Types) > 0 {
		where = append(where, "ARRAY_CONTAINS(@types, "+quoteProp(k.Type)+")")
		params = append(params, azcosmos.QueryParameter{Name: "@types", Value: q.Types})
	}
	if q.ExcludeReplays {
		where = append(where, "NOT IS_DEFINED(c.replayed)")
	}
	sql := "SELECT * FROM c WHERE " + strings.Join(where, " AND ")
	if agg != "" {
		sql += " ORDER BY " + quoteProp(k.Sort) + " ASC"
	}
	return sql, params
}

// Events yields the events q selects: per aggregate in time order, with
// q.AggregateIDs one aggregate after another. Since is inclusive and Until
// exclusive; AfterSeq does not apply (items have no sequence).
func (s *cosmosStore) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		n := 0
		run := func(agg string) bool {
			sql, params := s.query(q, agg)
			opts := &azcosmos.QueryOptions{QueryParameters: params, PageSizeHint: s.cfg.PageSize}
			key := azcosmos.NewPartitionKey()
			if agg != "" {
				key = azcosmos.NewPartitionKeyString(agg)
			}
			pager := s.container.NewQueryItemsPager(sql, key, opts)
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					yield(providers.StoredEvent{}, classifyIn(svcCosmos, s.resource()+" (query)", err))
					return false
				}
				for _, raw := range page.Items {
					ev, err := s.decode(raw)
					if err != nil {
						yield(providers.StoredEvent{}, err)
						return false
					}
					if !q.Since.IsZero() && ev.Time.Before(q.Since) || !q.Until.IsZero() && !ev.Time.Before(q.Until) {
						continue
					}
					if !yield(ev, nil) {
						return false
					}
					if n++; q.Limit > 0 && n >= q.Limit {
						return false
					}
				}
			}
			return true
		}
		if len(q.AggregateIDs) == 0 {
			run("")
			return
		}
		for _, agg := range q.AggregateIDs {
			if agg == "" || !run(agg) {
				return
			}
		}
	}
}

// decode turns an item into a stored event.
func (s *cosmosStore) decode(raw []byte) (providers.StoredEvent, error) {
	k := s.cfg.Keys
	var it map[string]json.RawMessage
	if err := json.Unmarshal(raw, &it); err != nil {
		return providers.StoredEvent{}, &providers.Error{Code: providers.InvalidArgument, Resource: s.resource(), Err: fmt.Errorf("an item is not a JSON object: %v", err)}
	}
	str := func(name string) string {
		var v any
		if json.Unmarshal(it[name], &v) != nil {
			return ""
		}
		switch v := v.(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(v)
		}
		return ""
	}
	ev := providers.StoredEvent{Event: providers.Event{Version: "0", Source: s.cfg.Source, Region: s.cfg.Region}}
	ev.AggregateID = str(k.Aggregate)
	if strings.HasPrefix(ev.AggregateID, cosmosNoAggregate) {
		ev.AggregateID = ""
	}
	ev.ID = str(k.ID)
	if ev.ID == "" {
		ev.ID = str("id")
	}
	where := func() string { return fmt.Sprintf("%s: item %s", s.resource(), str("id")) }
	t, err := time.Parse(time.RFC3339Nano, str(k.Sort))
	if err != nil {
		return ev, &providers.Error{Code: providers.InvalidArgument, Resource: where(),
			Err: fmt.Errorf("%s is not an RFC 3339 time: %v", k.Sort, err), Hint: "evcli reads times such as 2026-11-01T10:00:00.123Z"}
	}
	ev.Time = t.UTC()
	ev.DetailType = str(k.Type)
	if v := str(k.Version); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return ev, &providers.Error{Code: providers.InvalidArgument, Resource: where(), Err: fmt.Errorf("%s is not an integer: %q", k.Version, v)}
		}
		ev.AggregateVersion = n
	}
	if src := str("source"); src != "" {
		ev.Source = src
	}
	ev.CorrelationID = str("correlationId")
	switch d := it[k.Data]; {
	case len(d) == 0 || string(d) == "null":
		ev.Detail = json.RawMessage("{}")
	case d[0] == '"':
		// A container filled by other tools may hold the detail as a JSON
		// string of an object (as DynamoDB tables do); evcli's own items
		// hold it as JSON, and a detail that is a string stays one.
		var sv string
		_ = json.Unmarshal(d, &sv)
		if t := strings.TrimSpace(sv); (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
			ev.Detail = json.RawMessage(t)
		} else {
			ev.Detail = d
		}
	default:
		ev.Detail = d
	}
	return ev, nil
}

var _ providers.EventStore = (*cosmosStore)(nil)
