package asl

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// BenchmarkParseSaga: parsing and validating the seed's saga definition.
func BenchmarkParseSaga(b *testing.B) {
	data, _ := os.ReadFile("testdata/run/saga-shipment-fails.json")
	var c runCase
	_ = json.Unmarshal(data, &c)
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := Parse(c.Definition, Options{Functions: []string{"payment", "inventory", "shipment", "complete", "release", "refund"}}); len(diags) > 0 {
			b.Fatal(diags)
		}
	}
}

// BenchmarkRunSaga: one execution of the seed's saga down its compensation
// path (six Tasks over in-memory functions, a Catch, a Fail): the
// executor's own cost per execution, functions and store aside.
func BenchmarkRunSaga(b *testing.B) {
	data, _ := os.ReadFile("testdata/run/saga-shipment-fails.json")
	var c runCase
	_ = json.Unmarshal(data, &c)
	sm, err := ParseFile("saga", c.Definition, Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := &Executor{Invoker: &fakeFunctions{}, Sleep: func(context.Context, time.Duration) error { return nil }}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Run(context.Background(), sm, testExecution, "", c.Input); err == nil {
			b.Fatal("the saga should fail")
		}
	}
}
