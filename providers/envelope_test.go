package providers

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// AppendEnvelope must agree byte for byte with encoding/json, which it
// replaces on the hot path. envelopeJSON is that reference: encoding/json
// over the envelope's fields in EventBridge's order.
func envelopeJSON(ev Event) ([]byte, error) {
	res := ev.Resources
	if res == nil {
		res = []string{}
	}
	detail := ev.Detail
	if len(bytes.TrimSpace(detail)) == 0 {
		detail = json.RawMessage("{}")
	}
	type ordered struct {
		Version    string          `json:"version"`
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Account    string          `json:"account"`
		Time       string          `json:"time"`
		Region     string          `json:"region"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	return json.Marshal(ordered{ev.Version, ev.ID, ev.DetailType, ev.Source, ev.Account,
		ev.Time.UTC().Format(time.RFC3339Nano), ev.Region, res, detail})
}

var envelopeCases = []Event{
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

func TestMarshalEnvelopeMatchesEncodingJSON(t *testing.T) {
	for i, ev := range envelopeCases {
		want, werr := envelopeJSON(ev)
		got, gerr := MarshalEnvelope(&ev)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s (%v)\nwant %s (%v)", i, got, gerr, want, werr)
		}
	}
	if _, err := MarshalEnvelope(&Event{Detail: json.RawMessage(`{"a":`)}); err == nil {
		t.Error("invalid detail: no error")
	}
}

// FuzzMarshalEnvelope: for any detail and field values, MarshalEnvelope
// renders what encoding/json renders, or fails where it fails.
func FuzzMarshalEnvelope(f *testing.F) {
	for _, ev := range envelopeCases {
		f.Add(ev.ID, ev.Source, ev.DetailType, []byte(ev.Detail))
	}
	f.Fuzz(func(t *testing.T, id, source, typ string, detail []byte) {
		ev := Event{Version: "0", ID: id, Source: source, DetailType: typ, Account: "1", Region: "r",
			Time: time.Date(2026, 11, 26, 10, 0, 0, 5000, time.UTC), Resources: []string{typ, id}, Detail: detail}
		want, werr := envelopeJSON(ev)
		got, gerr := MarshalEnvelope(&ev)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("marshal:\n got %q (%v)\nwant %q (%v)", got, gerr, want, werr)
		}
	})
}
