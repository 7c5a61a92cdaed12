package aws

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/evcli/evcli/providers"
)

// DynamoDBAPI is the part of the DynamoDB client the event store uses.
type DynamoDBAPI interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// StoreKeys name the attributes of the event-sourcing layout (evcli.yaml
// store.keys); empty names take the defaults.
type StoreKeys struct {
	Aggregate string // partition key; default aggregateId
	Sort      string // sort key, the event's time; default timestamp
	ID        string // default eventId
	Type      string // default eventType
	Data      string // default data
	Version   string // default version
}

func (k *StoreKeys) defaults() {
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
}

// DynamoDBStoreOptions configure a DynamoDBStore.
type DynamoDBStoreOptions struct {
	Table string
	Keys  StoreKeys
	// Segments is how many parallel Scan segments read a time window
	// (default 4, at most 1000).
	Segments int
	// PageSize is the Limit of each Scan or Query request (default: the
	// service's 1 MB pages).
	PageSize int32
	// Source is the envelope source of events whose item has no "source"
	// attribute (default "evcli.eventstore").
	Source string
	// Region fills the envelope's region.
	Region string
}

// DynamoDBStore reads an event-sourced DynamoDB table: partition key the
// aggregate id, sort key the event time (an RFC 3339 string in UTC, which
// may be followed by "#" and anything, as evcli's store writer adds the
// event id; or a number of epoch milliseconds or seconds), and attributes for the event id,
// type, data (a JSON string or a map) and version. Optional attributes
// "source" and "correlationId" fill the envelope.
//
// Events by time window use a parallel Scan (Segments) with a
// FilterExpression on the sort key and types (and, for ExcludeReplays, on a
// map data attribute's _replay member); with AggregateIDs, one Query per
// aggregate on the key. Pages stream through a bounded channel, so the
// table is never held in memory.
type DynamoDBStore struct {
	client DynamoDBAPI
	opts   DynamoDBStoreOptions

	once     sync.Once
	layout   tableLayout
	describe error
}

type tableLayout struct {
	sortType ddbtypes.ScalarAttributeType // S or N
	pkType   ddbtypes.ScalarAttributeType
	millis   bool // N sort keys: epoch milliseconds (else seconds)
}

// NewDynamoDBStore returns the event store of opts.Table read through client
// (dynamodb.NewFromConfig(cfg) for the real service).
func NewDynamoDBStore(client DynamoDBAPI, opts DynamoDBStoreOptions) *DynamoDBStore {
	opts.Keys.defaults()
	if opts.Segments <= 0 {
		opts.Segments = 4
	}
	opts.Segments = min(opts.Segments, 1000)
	if opts.Source == "" {
		opts.Source = "evcli.eventstore"
	}
	return &DynamoDBStore{client: client, opts: opts}
}

// As exposes the DynamoDB client: *DynamoDBAPI or **dynamodb.Client.
func (s *DynamoDBStore) As(target any) bool {
	switch t := target.(type) {
	case *DynamoDBAPI:
		*t = s.client
		return true
	case **dynamodb.Client:
		c, ok := s.client.(*dynamodb.Client)
		if ok {
			*t = c
		}
		return ok
	}
	return false
}

func (s *DynamoDBStore) resource() string { return "dynamodb table " + s.opts.Table }

// inspect reads the key schema once: it checks the configured key names
// against the table and learns the sort key's type.
func (s *DynamoDBStore) inspect(ctx context.Context) (tableLayout, error) {
	s.once.Do(func() {
		s.describe = s.inspectOnce(ctx)
	})
	return s.layout, s.describe
}

func (s *DynamoDBStore) inspectOnce(ctx context.Context) error {
	if s.opts.Table == "" {
		return &providers.Error{Code: providers.InvalidArgument, Resource: "dynamodb", Err: errors.New("no table"),
			Hint: "set store.table in evcli.yaml"}
	}
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.opts.Table})
	if err != nil {
		return wrapDynamoErr(s.resource(), err)
	}
	var pk, sk string
	for _, k := range out.Table.KeySchema {
		switch k.KeyType {
		case ddbtypes.KeyTypeHash:
			pk = awssdk.ToString(k.AttributeName)
		case ddbtypes.KeyTypeRange:
			sk = awssdk.ToString(k.AttributeName)
		}
	}
	keys := s.opts.Keys
	var problems []string
	if pk != keys.Aggregate {
		problems = append(problems, fmt.Sprintf("its partition key is %q, store.keys.aggregate says %q", pk, keys.Aggregate))
	}
	if sk != keys.Sort {
		if sk == "" {
			problems = append(problems, fmt.Sprintf("it has no sort key; the event-sourcing layout needs one (store.keys.sort %q)", keys.Sort))
		} else {
			problems = append(problems, fmt.Sprintf("its sort key is %q, store.keys.sort says %q", sk, keys.Sort))
		}
	}
	if len(problems) > 0 {
		return &providers.Error{Code: providers.InvalidArgument, Resource: s.resource(),
			Err:  errors.New(strings.Join(problems, "; ")),
			Hint: "set store.keys in evcli.yaml to the table's key attribute names"}
	}
	for _, d := range out.Table.AttributeDefinitions {
		switch awssdk.ToString(d.AttributeName) {
		case pk:
			s.layout.pkType = d.AttributeType
		case sk:
			s.layout.sortType = d.AttributeType
		}
	}
	switch s.layout.sortType {
	case ddbtypes.ScalarAttributeTypeS:
	case ddbtypes.ScalarAttributeTypeN:
		// Learn the unit from one item: epoch milliseconds are > 1e11.
		s.layout.millis = true
		one, err := s.client.Scan(ctx, &dynamodb.ScanInput{TableName: &s.opts.Table, Limit: awssdk.Int32(1),
			ProjectionExpression: awssdk.String("#sk"), ExpressionAttributeNames: map[string]string{"#sk": sk}})
		if err != nil {
			return wrapDynamoErr(s.resource(), err)
		}
		if len(one.Items) == 1 {
			if n, ok := one.Items[0][sk].(*ddbtypes.AttributeValueMemberN); ok {
				if v, err := strconv.ParseFloat(n.Value, 64); err == nil && v < 1e11 {
					s.layout.millis = false
				}
			}
		}
	default:
		return &providers.Error{Code: providers.InvalidArgument, Resource: s.resource(),
			Err:  fmt.Errorf("its sort key %q is of type %s", sk, s.layout.sortType),
			Hint: "evcli reads sort keys that are RFC 3339 strings or epoch numbers"}
	}
	return nil
}

// timeValue is the sort key value for t: prefix bounds for strings (the
// caller widens them to whole seconds), numbers in the table's unit.
func (s *DynamoDBStore) timeValue(l tableLayout, t time.Time, upper bool) ddbtypes.AttributeValue {
	if l.sortType == ddbtypes.ScalarAttributeTypeN {
		var v int64
		if l.millis {
			v = t.UnixMilli()
			if upper && t.Sub(time.UnixMilli(v)) > 0 {
				v++
			}
		} else {
			v = t.Unix()
			if upper {
				v++
			}
		}
		return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	// RFC 3339 strings in UTC sort as their times within a second; widen the
	// bounds to whole seconds and let the exact check drop the rest.
	v := t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05")
	if upper {
		v += "~" // sorts after any fraction, "Z" or offset
	}
	return &ddbtypes.AttributeValueMemberS{Value: v}
}

// expr builds the expressions for q; keyCond is for Query.
type expr struct {
	names  map[string]string
	values map[string]ddbtypes.AttributeValue
	filter []string
	keyCnd []string
}

func (s *DynamoDBStore) buildExpr(l tableLayout, q providers.EventQuery, query bool) *expr {
	e := &expr{names: map[string]string{}, values: map[string]ddbtypes.AttributeValue{}}
	var timeCond []string
	if !q.Since.IsZero() || !q.Until.IsZero() {
		e.names["#sk"] = s.opts.Keys.Sort
	}
	switch {
	case !q.Since.IsZero() && !q.Until.IsZero():
		e.values[":lo"] = s.timeValue(l, q.Since, false)
		e.values[":hi"] = s.timeValue(l, q.Until, true)
		timeCond = append(timeCond, "#sk BETWEEN :lo AND :hi")
	case !q.Since.IsZero():
		e.values[":lo"] = s.timeValue(l, q.Since, false)
		timeCond = append(timeCond, "#sk >= :lo")
	case !q.Until.IsZero():
		e.values[":hi"] = s.timeValue(l, q.Until, true)
		timeCond = append(timeCond, "#sk <= :hi")
	}
	if query {
		e.names["#pk"] = s.opts.Keys.Aggregate
		e.keyCnd = append([]string{"#pk = :pk"}, timeCond...)
	} else {
		e.filter = append(e.filter, timeCond...)
	}
	// A replay's marker is a top-level member of the detail: when the data
	// attribute is a map the service can leave those items out; a JSON
	// string is not looked into (the caller checks again).
	if q.ExcludeReplays {
		e.names["#data"] = s.opts.Keys.Data
		e.names["#replay"] = providers.ReplayMarkerKey
		e.filter = append(e.filter, "attribute_not_exists(#data.#replay)")
	}
	// IN takes at most 100 operands; with more types the exact check alone
	// selects them.
	if n := len(q.Types); n > 0 && n <= 99 {
		e.names["#type"] = s.opts.Keys.Type
		ph := make([]string, n)
		for i, t := range q.Types {
			ph[i] = ":t" + strconv.Itoa(i)
			e.values[ph[i]] = &ddbtypes.AttributeValueMemberS{Value: t}
		}
		e.filter = append(e.filter, "#type IN ("+strings.Join(ph, ", ")+")")
	}
	return e
}

func (e *expr) filterExpr() *string {
	if len(e.filter) == 0 {
		return nil
	}
	return awssdk.String(strings.Join(e.filter, " AND "))
}

func nilIfEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

// Events yields the events q selects: with q.AggregateIDs one Query per
// aggregate (each in sort key order), else a parallel Scan (no order).
// Since is inclusive and Until exclusive, as in the local store; q.AfterSeq
// does not apply (DynamoDB items have no sequence).
func (s *DynamoDBStore) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		l, err := s.inspect(ctx)
		if err != nil {
			yield(providers.StoredEvent{}, err)
			return
		}
		// An early stop (the caller breaks, a segment fails) lets requests
		// in flight finish rather than aborting them; ctx cancels them.
		stop := make(chan struct{})
		var stopOnce sync.Once
		halt := func() { stopOnce.Do(func() { close(stop) }) }
		items := make(chan map[string]ddbtypes.AttributeValue, 512)
		errc := make(chan error, s.opts.Segments+1)
		var wg sync.WaitGroup
		if len(q.AggregateIDs) > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, agg := range q.AggregateIDs {
					if err := s.query(ctx, l, q, agg, items, stop); err != nil {
						errc <- err
						return
					}
				}
			}()
		} else {
			for seg := range s.opts.Segments {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.scan(ctx, l, q, int32(seg), items, stop); err != nil {
						errc <- err
						halt()
					}
				}()
			}
		}
		go func() { wg.Wait(); close(items) }()
		defer func() {
			halt()
			for range items { // let the readers finish
			}
		}()
		types := map[string]bool{}
		for _, t := range q.Types {
			types[t] = true
		}
		n := 0
		for item := range items {
			ev, err := s.decode(item)
			if err != nil {
				yield(providers.StoredEvent{}, err)
				return
			}
			if !q.Since.IsZero() && ev.Time.Before(q.Since) || !q.Until.IsZero() && !ev.Time.Before(q.Until) {
				continue
			}
			if len(types) > 0 && !types[ev.DetailType] {
				continue
			}
			if !yield(ev, nil) {
				return
			}
			if n++; q.Limit > 0 && n >= q.Limit {
				return
			}
		}
		// Every reader has finished (items is closed): report the first
		// real error, not the cancellations it caused.
		close(errc)
		var first error
		for err := range errc {
			if err != errStopped && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
				first = err
			}
		}
		if first == nil {
			first = ctx.Err()
		}
		if first != nil {
			yield(providers.StoredEvent{}, first)
		}
	}
}

// errStopped ends a reader whose consumer went away.
var errStopped = errors.New("stopped")

func send(ctx context.Context, out chan<- map[string]ddbtypes.AttributeValue, items []map[string]ddbtypes.AttributeValue, stop <-chan struct{}) error {
	for _, it := range items {
		select {
		case out <- it:
		case <-stop:
			return errStopped
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-stop:
		return errStopped
	default:
		return nil
	}
}

func (s *DynamoDBStore) scan(ctx context.Context, l tableLayout, q providers.EventQuery, seg int32, out chan<- map[string]ddbtypes.AttributeValue, stop <-chan struct{}) error {
	e := s.buildExpr(l, q, false)
	in := &dynamodb.ScanInput{
		TableName:                 &s.opts.Table,
		Segment:                   awssdk.Int32(seg),
		TotalSegments:             awssdk.Int32(int32(s.opts.Segments)),
		FilterExpression:          e.filterExpr(),
		ExpressionAttributeNames:  nilIfEmpty(e.names),
		ExpressionAttributeValues: nilIfEmpty(e.values),
	}
	if s.opts.PageSize > 0 {
		in.Limit = awssdk.Int32(s.opts.PageSize)
	}
	for {
		page, err := s.client.Scan(ctx, in)
		if err != nil {
			return wrapDynamoErr(fmt.Sprintf("%s (scan segment %d of %d)", s.resource(), seg, s.opts.Segments), err)
		}
		if err := send(ctx, out, page.Items, stop); err != nil {
			return err
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func (s *DynamoDBStore) query(ctx context.Context, l tableLayout, q providers.EventQuery, agg string, out chan<- map[string]ddbtypes.AttributeValue, stop <-chan struct{}) error {
	e := s.buildExpr(l, q, true)
	if l.pkType == ddbtypes.ScalarAttributeTypeN {
		e.values[":pk"] = &ddbtypes.AttributeValueMemberN{Value: agg}
	} else {
		e.values[":pk"] = &ddbtypes.AttributeValueMemberS{Value: agg}
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.opts.Table,
		KeyConditionExpression:    awssdk.String(strings.Join(e.keyCnd, " AND ")),
		FilterExpression:          e.filterExpr(),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	}
	if s.opts.PageSize > 0 {
		in.Limit = awssdk.Int32(s.opts.PageSize)
	}
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return wrapDynamoErr(fmt.Sprintf("%s (query aggregate %s)", s.resource(), agg), err)
		}
		if err := send(ctx, out, page.Items, stop); err != nil {
			return err
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// decode turns an item into a stored event.
func (s *DynamoDBStore) decode(item map[string]ddbtypes.AttributeValue) (providers.StoredEvent, error) {
	k := s.opts.Keys
	ev := providers.StoredEvent{Event: providers.Event{Version: "0", Source: s.opts.Source, Region: s.opts.Region}}
	ev.AggregateID = scalar(item[k.Aggregate])
	if strings.HasPrefix(ev.AggregateID, noAggregatePrefix) {
		ev.AggregateID = "" // an event without aggregate, as the writer stores it
	}
	skv := item[k.Sort]
	where := func() string {
		return fmt.Sprintf("%s: item %s=%q %s=%q", s.resource(), k.Aggregate, ev.AggregateID, k.Sort, scalar(skv))
	}
	switch v := skv.(type) {
	case *ddbtypes.AttributeValueMemberS:
		at, _, _ := strings.Cut(v.Value, "#") // the writer's "<time>#<event id>"
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return ev, &providers.Error{Code: providers.InvalidArgument, Resource: where(),
				Err: fmt.Errorf("sort key is not an RFC 3339 time: %v", err), Hint: "evcli reads sort keys such as 2026-11-01T10:00:00.123Z"}
		}
		ev.Time = t.UTC()
	case *ddbtypes.AttributeValueMemberN:
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || math.IsInf(f, 0) {
			return ev, &providers.Error{Code: providers.InvalidArgument, Resource: where(), Err: fmt.Errorf("sort key is not a number: %q", v.Value)}
		}
		if f >= 1e11 {
			ev.Time = time.UnixMilli(int64(f)).UTC()
		} else {
			sec, frac := math.Modf(f)
			ev.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		}
	default:
		return ev, &providers.Error{Code: providers.InvalidArgument, Resource: where(), Err: errors.New("item has no sort key")}
	}
	ev.ID = scalar(item[k.ID])
	if ev.ID == "" {
		ev.ID = ev.AggregateID + "/" + scalar(skv)
	}
	ev.DetailType = scalar(item[k.Type])
	if v, ok := item[k.Version]; ok {
		n, err := strconv.ParseInt(scalar(v), 10, 64)
		if err != nil {
			return ev, &providers.Error{Code: providers.InvalidArgument, Resource: where(), Err: fmt.Errorf("%s is not an integer: %q", k.Version, scalar(v))}
		}
		ev.AggregateVersion = n
	}
	if src := scalar(item["source"]); src != "" {
		ev.Source = src
	}
	ev.CorrelationID = scalar(item["correlationId"])
	switch d := item[k.Data].(type) {
	case nil:
		ev.Detail = json.RawMessage("{}")
	case *ddbtypes.AttributeValueMemberS:
		if json.Valid([]byte(d.Value)) {
			ev.Detail = json.RawMessage(d.Value)
		} else {
			b, _ := json.Marshal(d.Value)
			ev.Detail = b
		}
	default:
		var buf bytes.Buffer
		if err := avJSON(&buf, d); err != nil {
			return ev, &providers.Error{Code: providers.InvalidArgument, Resource: where(), Err: fmt.Errorf("%s: %v", k.Data, err)}
		}
		ev.Detail = buf.Bytes()
	}
	return ev, nil
}

// scalar renders a string, number or binary attribute as text.
func scalar(v ddbtypes.AttributeValue) string {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value
	case *ddbtypes.AttributeValueMemberN:
		return v.Value
	case *ddbtypes.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL:
		return strconv.FormatBool(v.Value)
	}
	return ""
}

// avJSON writes an attribute value as JSON, keeping numbers exactly as
// stored (no float conversion); binary becomes base64, sets arrays.
func avJSON(w *bytes.Buffer, v ddbtypes.AttributeValue) error {
	str := func(s string) {
		b, _ := json.Marshal(s)
		w.Write(b)
	}
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		str(v.Value)
	case *ddbtypes.AttributeValueMemberN:
		if !json.Valid([]byte(v.Value)) {
			return fmt.Errorf("number %q is not valid JSON", v.Value)
		}
		w.WriteString(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL:
		w.WriteString(strconv.FormatBool(v.Value))
	case *ddbtypes.AttributeValueMemberNULL:
		w.WriteString("null")
	case *ddbtypes.AttributeValueMemberB:
		str(base64.StdEncoding.EncodeToString(v.Value))
	case *ddbtypes.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				w.WriteByte(',')
			}
			str(k)
			w.WriteByte(':')
			if err := avJSON(w, v.Value[k]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	case *ddbtypes.AttributeValueMemberL:
		w.WriteByte('[')
		for i, e := range v.Value {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := avJSON(w, e); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	case *ddbtypes.AttributeValueMemberSS:
		b, _ := json.Marshal(v.Value)
		w.Write(b)
	case *ddbtypes.AttributeValueMemberNS:
		w.WriteByte('[')
		w.WriteString(strings.Join(v.Value, ","))
		w.WriteByte(']')
	case *ddbtypes.AttributeValueMemberBS:
		w.WriteByte('[')
		for i, b := range v.Value {
			if i > 0 {
				w.WriteByte(',')
			}
			str(base64.StdEncoding.EncodeToString(b))
		}
		w.WriteByte(']')
	default:
		return fmt.Errorf("unsupported attribute type %T", v)
	}
	return nil
}

// wrapDynamoErr gives a DynamoDB error a portable code, the resource and a
// next step.
func wrapDynamoErr(resource string, err error) error {
	return classify(resource, err, func(c providers.Code) string {
		switch c {
		case providers.NotFound:
			return "check store.table and region in evcli.yaml (or --region)"
		case providers.PermissionDenied:
			return "the credentials need dynamodb:DescribeTable, dynamodb:Scan and dynamodb:Query on the table"
		case providers.Throttled:
			return "the table's read capacity is exhausted: use fewer scan segments or retry later"
		}
		return ""
	})
}

var _ providers.EventStore = (*DynamoDBStore)(nil)

// OpenDynamoDBStore loads the AWS configuration (LoadConfig) and returns
// the event store of so.Table; AWS_ENDPOINT_URL_DYNAMODB (or
// AWS_ENDPOINT_URL) points it at dynalite, DynamoDB Local or LocalStack.
func OpenDynamoDBStore(ctx context.Context, o Options, so DynamoDBStoreOptions) (*DynamoDBStore, error) {
	cfg, err := LoadConfig(ctx, o)
	if err != nil {
		return nil, err
	}
	if so.Region == "" {
		so.Region = cfg.Region
	}
	return NewDynamoDBStore(dynamodb.NewFromConfig(cfg), so), nil
}
