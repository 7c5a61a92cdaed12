package store

import (
	"context"
	"testing"
)

// TestExecutions: an execution's row, checkpoints, history, end and
// redrive, read back by id and by name, from a second handle too.
func TestExecutions(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	ctx := context.Background()
	e := Execution{ID: "x-1", Name: "order-1", Workflow: "checkout", Definition: []byte(`{}`), Input: []byte(`{"a":1}`), CorrelationID: "c-1", Started: t0}
	if err := db.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckpointExecution(ctx, "x-1", "Pay", []byte(`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{`{"type":"ExecutionStarted"}`, `{"type":"StateEntered"}`} {
		seq, err := db.AppendExecutionEvent(ctx, "x-1", t0, []byte(p))
		if err != nil || seq != i+1 {
			t.Fatalf("append: seq %d, %v", seq, err)
		}
	}
	other := openTest(t, dir)
	got, ok, err := other.GetExecution(ctx, "order-1")
	if err != nil || !ok {
		t.Fatalf("get by name: %v %v", ok, err)
	}
	if got.Status != "RUNNING" || got.ResumeState != "Pay" || string(got.ResumeInput) != `{"a":2}` || got.CorrelationID != "c-1" || !got.Started.Equal(t0) {
		t.Errorf("got %+v", got)
	}
	if ok, _ := db.RedriveExecution(ctx, "x-1", "FAILED"); ok {
		t.Error("redrove a running execution")
	}
	if err := db.FinishExecution(ctx, "x-1", "FAILED", nil, "ShipmentError", "no carrier", t0); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.RedriveExecution(ctx, "x-1", "FAILED"); !ok || err != nil {
		t.Fatalf("redrive: %v %v", ok, err)
	}
	got, _, _ = db.GetExecution(ctx, "x-1")
	if got.Status != "RUNNING" || got.RedriveCount != 1 || got.Error != "" {
		t.Errorf("after redrive %+v", got)
	}
	evs, err := other.ExecutionEvents(ctx, "x-1", 1)
	if err != nil || len(evs) != 1 || string(evs[0].Payload) != `{"type":"StateEntered"}` {
		t.Errorf("events after 1: %v %v", evs, err)
	}
	list, err := db.ListExecutions(ctx, "checkout", 0)
	if err != nil || len(list) != 1 {
		t.Errorf("list: %v %v", list, err)
	}
	if list, _ := db.ListExecutions(ctx, "other", 0); len(list) != 0 {
		t.Errorf("list other: %v", list)
	}
	if _, ok, _ := db.GetExecution(ctx, "nope"); ok {
		t.Error("found nope")
	}
}
