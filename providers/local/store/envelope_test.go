package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// The hand-written envelope parser must agree with encoding/json, which it
// replaces on the hot path.

var envelopeCases = []providers.Event{
	{Version: "0", ID: "id-1", DetailType: "OrderCreated", Source: "shop.orders", Account: "000000000000",
		Time: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), Region: "us-east-1", Resources: []string{"arn:a", "arn:b"},
		Detail: json.RawMessage(`{"orderId":"o-1","total":42.5}`)},
	{ID: "x", Source: "s", DetailType: "t", Time: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600)),
		Detail: json.RawMessage(" {\n\t\"a\" : [1, 2 ,{\"b\": \"<&>\"}],\r\n \"c\":\"line\u2028sep\u2029\", \"d\": \"tab\\t q\\\" \\\\\" } ")},
	{ID: "q\"uo<te>&", Source: "s\\rc\u2028", DetailType: "t\x01\x1f\b\f\n\r\t", Region: "bad\xffutf8\xe2\x80",
		Resources: []string{}, Detail: nil},
	{ID: "e", Source: "s", DetailType: "t", Detail: json.RawMessage(`   `)},
	{ID: "u", Source: "ünïcødé 🎉", DetailType: "t", Detail: json.RawMessage(`{"k":"ünï\u00e9\ud83c\udf89","raw":"é"}`)},
	{ID: "n", Source: "s", DetailType: "t", Detail: json.RawMessage(`{"a":null,"b":true,"c":false,"d":-1.5e+10,"e":{},"f":[]}`)},
}

func TestUnmarshalEnvelopeMatchesEncodingJSON(t *testing.T) {
	var inputs [][]byte
	for _, ev := range envelopeCases {
		b, err := providers.MarshalEnvelope(&ev)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	inputs = append(inputs,
		[]byte(`{"id":"only"}`),
		[]byte(`{"version":"0","id":"a","detail-type":"t","source":"s","account":"1","time":"2026-11-26T10:00:00Z","region":"r","resources":null,"detail":{}}`),
		[]byte(`{"version":"0","id":"a","detail-type":"t","source":"s","account":"1","time":"","region":"r","resources":[],"detail":{"a":}}`),
		[]byte(`{"version":"0","id":"a","detail-type":"t","source":"s","account":"1","time":"2026-11-26T10:00:00Z","region":"r","resources":[],"detail":{}} `),
		[]byte(`{"version":"0","id":"a","detail-type":"t","source":"s","account":"1","time":"2026-13-26T10:00:00Z","region":"r","resources":[],"detail":{}}`),
		[]byte(`{"version":"0","id":"a\u0041","detail-type":"t","source":"s","account":"1","time":"2026-11-26T10:00:00Z","region":"r","resources":["x","y"],"detail":{}}`),
		[]byte(`{"version":"0","id":"a","detail-type":"t","source":"s","account":"1","time":"2026-11-26T10:00:00Z","region":"r","resources":[],"detail":[1]}`),
	)
	for _, b := range inputs {
		checkUnmarshalEnvelope(t, b)
	}
}

func checkUnmarshalEnvelope(t *testing.T, b []byte) {
	t.Helper()
	want, werr := unmarshalEnvelopeJSON(b)
	got, gerr := UnmarshalEnvelope(b)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%s: error %v, encoding/json %v", b, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", b, got, want)
	}
}

var deriveCases = []string{
	`{"aggregateId":"a","version":3,"correlationId":"c"}`,
	`{"aggregate_id":42,"aggregateVersion":"7","correlation_id":"c2"}`,
	`{"metadata":{"correlationId":"m"}}`,
	`{"metadata":{"correlation_id":"m2"},"metadata":{"other":1}}`,
	`{"metadata":{"correlationId":"m"},"metadata":5}`,
	`{"metadata":null,"correlationId":""}`,
	`{"AGGREGATEID":"upper","aggregateId":"lower","AggregateId":"last"}`,
	`{"aggregateId":"a\u0042","version":"v1"}`,
	`{"aggregate\u0049d":"escaped-key"}`,
	`{"verſion":5,"aggregateId":"folded-s"}`,
	`{"aggregateId":"\xff\xfe","version":-4}`,
	`{"aggregateId":null,"aggregate_id":"second","version":null,"aggregateVersion":9}`,
	`{"aggregateId":["not","scalar"],"aggregate_id":{"x":1},"version":1.5}`,
	`{ "aggregateId" : "spaced" , "version" : 12 , "nested" : {"aggregateId":"inner","s":"}{]["} }`,
	`[1,2]`,
	`null`,
	`"str"`,
	`{}`,
	`{"version":99999999999999999999}`,
}

func TestDeriveKeysMatchesEncodingJSON(t *testing.T) {
	for _, d := range deriveCases {
		checkDeriveKeys(t, []byte(d), providers.StoredEvent{})
	}
	checkDeriveKeys(t, []byte(deriveCases[0]), providers.StoredEvent{AggregateID: "given", CorrelationID: "given-c"})
}

func checkDeriveKeys(t *testing.T, detail []byte, pre providers.StoredEvent) {
	t.Helper()
	want, got := pre, pre
	want.Detail, got.Detail = detail, detail
	providers.DeriveEventKeys(&want)
	DeriveKeys(&got)
	if got.AggregateID != want.AggregateID || got.AggregateVersion != want.AggregateVersion || got.CorrelationID != want.CorrelationID {
		t.Fatalf("%s: got (%q, %d, %q); encoding/json (%q, %d, %q)", detail,
			got.AggregateID, got.AggregateVersion, got.CorrelationID, want.AggregateID, want.AggregateVersion, want.CorrelationID)
	}
	if json.Valid(detail) {
		fast := pre
		fast.Detail = detail
		deriveKeys(&fast)
		if fast.AggregateID != want.AggregateID || fast.AggregateVersion != want.AggregateVersion || fast.CorrelationID != want.CorrelationID {
			t.Fatalf("%s: deriveKeys (%q, %d, %q); encoding/json (%q, %d, %q)", detail,
				fast.AggregateID, fast.AggregateVersion, fast.CorrelationID, want.AggregateID, want.AggregateVersion, want.CorrelationID)
		}
	}
}

// FuzzEnvelopeCodec: UnmarshalEnvelope agrees with encoding/json on any
// detail and on any envelope providers.MarshalEnvelope renders (which
// renders what encoding/json renders: providers' FuzzMarshalEnvelope).
func FuzzEnvelopeCodec(f *testing.F) {
	for _, ev := range envelopeCases {
		f.Add(ev.ID, ev.Source, ev.DetailType, []byte(ev.Detail))
	}
	f.Fuzz(func(t *testing.T, id, source, typ string, detail []byte) {
		ev := providers.Event{Version: "0", ID: id, Source: source, DetailType: typ, Account: "1", Region: "r",
			Time: time.Date(2026, 11, 26, 10, 0, 0, 5000, time.UTC), Resources: []string{typ, id}, Detail: detail}
		checkUnmarshalEnvelope(t, detail)
		if b, err := providers.MarshalEnvelope(&ev); err == nil {
			checkUnmarshalEnvelope(t, b)
		}
	})
}

// FuzzDeriveKeys: the hand-written key scan agrees with encoding/json on
// any detail.
func FuzzDeriveKeys(f *testing.F) {
	for _, d := range deriveCases {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, detail []byte) {
		checkDeriveKeys(t, detail, providers.StoredEvent{})
	})
}
