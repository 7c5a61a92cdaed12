package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tune"
)

var (
	_ providers.Prober       = (*LambdaTuner)(nil)
	_ providers.MemorySetter = (*LambdaTuner)(nil)
	_ providers.TotalsSource = (*MetricsSource)(nil)
)

func newTuner(f *tuneFake) *LambdaTuner {
	n := 0
	return NewLambdaTuner(f.config(), &TunerOptions{Sleep: instant, Suffix: func() string { n++; return "s" + string(rune('0'+n)) }})
}

func TestProbeCreatesInvokesAndDeletesCopies(t *testing.T) {
	f := newTuneFake(t)
	f.addFunction("orders", 1024)
	tu := newTuner(f)
	recs, err := tune.Probe(context.Background(), tu, "orders", []int{512, 1024}, []byte(`{"id":1}`), 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.created; len(got) != 2 || got[0] != "orders-tune-512-s1" || got[1] != "orders-tune-1024-s2" {
		t.Fatalf("created %v", got)
	}
	if l := f.leaked(); len(l) != 0 {
		t.Fatalf("leaked %v", l)
	}
	if fmt.Sprint(f.deletedLogs) != "[/aws/lambda/orders-tune-512-s1 /aws/lambda/orders-tune-1024-s2]" {
		t.Fatalf("log groups deleted: %v", f.deletedLogs)
	}
	if f.funcs["orders"].memory != 1024 || len(f.updates) != 0 {
		t.Fatal("the live function was touched")
	}
	// 512 MB: 4 runs, the first cold (dropped), duration 200 ms each.
	p := recs[0]
	if p.Runs != 4 || p.ColdStarts != 1 || p.Kept != 3 || p.Duration.Mean != 200 || p.BilledMeanMs != 201 {
		t.Fatalf("512 MB: %+v", p)
	}
	if recs[1].Duration.Mean != 100 {
		t.Fatalf("1024 MB: %+v", recs[1])
	}
}

func TestProbeCopiesConfiguration(t *testing.T) {
	f := newTuneFake(t)
	f.addFunction("orders", 1024)
	if _, err := newTuner(f).Probe(context.Background(), "orders", 256, nil, 1); err != nil {
		t.Fatal(err)
	}
	// The fake checks the code bytes (downloaded from the code location).
	if len(f.createIns) != 1 {
		t.Fatalf("created %v", f.created)
	}
	in := f.createIns[0]
	got, _ := json.Marshal(map[string]any{"Runtime": in["Runtime"], "Handler": in["Handler"], "Role": in["Role"], "Timeout": in["Timeout"],
		"Architectures": in["Architectures"], "Environment": in["Environment"], "MemorySize": in["MemorySize"], "Tags": in["Tags"]})
	want := `{"Architectures":["arm64"],"Environment":{"Variables":{"TABLE":"orders"}},"Handler":"index.handler","MemorySize":256,"Role":"arn:aws:iam::123456789012:role/r","Runtime":"nodejs22.x","Tags":{"evcli:tune-copy-of":"orders"},"Timeout":10}`
	if string(got) != want {
		t.Fatalf("create input\n got %s\nwant %s", got, want)
	}
}

func TestProbeDeletesCopyOnEveryExitPath(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *tuneFake, cancel context.CancelFunc)
	}{
		{"invoke fails", func(f *tuneFake, _ context.CancelFunc) { f.failInvoke = 2 }},
		{"create fails after creating", func(f *tuneFake, _ context.CancelFunc) { f.failCreate = true }},
		{"interrupted during an invoke", func(f *tuneFake, cancel context.CancelFunc) {
			f.onInvoke = func(n int, r *http.Request) bool {
				if n == 2 {
					cancel()
					<-r.Context().Done() // the client gives up
					return false
				}
				return true
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTuneFake(t)
			f.addFunction("orders", 1024)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.setup(f, cancel)
			_, err := tune.Probe(ctx, newTuner(f), "orders", []int{512, 1024}, nil, 3, nil)
			if err == nil {
				t.Fatal("want an error")
			}
			if len(f.created) == 0 {
				t.Fatal("nothing was created")
			}
			if l := f.leaked(); len(l) != 0 {
				t.Fatalf("leaked %v after %v", l, err)
			}
			if tt.name == "interrupted during an invoke" && !errors.Is(err, context.Canceled) {
				t.Fatalf("want context.Canceled, got %v", err)
			}
		})
	}
}

func TestProbeMissingFunction(t *testing.T) {
	f := newTuneFake(t)
	_, err := newTuner(f).Probe(context.Background(), "nope", 512, nil, 1)
	if providers.CodeOf(err) != providers.NotFound || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("%v (code %v)", err, providers.CodeOf(err))
	}
	if len(f.created) != 0 {
		t.Fatal("created a copy of a missing function")
	}
}

// The wait for $LATEST's update (publishing and moving live: TestSetMemoryLivePublishesAndMovesLive).
func TestSetMemoryWaitsForUpdate(t *testing.T) {
	f := newTuneFake(t)
	f.addFunction("orders", 1024)
	if err := newTuner(f).setLatestMemory(context.Background(), "orders", 512); err != nil {
		t.Fatal(err)
	}
	fn := f.funcs["orders"]
	if fn.memory != 512 || fn.conf["LastUpdateStatus"] != "Successful" || fn.polls < 2 {
		t.Fatalf("memory %d status %v polls %d", fn.memory, fn.conf["LastUpdateStatus"], fn.polls)
	}
}

func TestSetMemoryReportsFailedUpdate(t *testing.T) {
	f := newTuneFake(t)
	f.addFunction("orders", 1024)
	f.funcs["orders"].failUpdate = true
	err := newTuner(f).setLatestMemory(context.Background(), "orders", 2048)
	if err == nil || !strings.Contains(err.Error(), "not enough capacity") || !strings.Contains(err.Error(), "orders") {
		t.Fatalf("want the failure reason, got %v", err)
	}
}

func TestTempName(t *testing.T) {
	if got := TempName("orders", 512, "ab12cd"); got != "orders-tune-512-ab12cd" {
		t.Fatal(got)
	}
	if got := TempName(strings.Repeat("x", 70), 10240, "abcdef"); got != strings.Repeat("x", 46)+"-tune-10240-abcdef" || len(got) != 64 {
		t.Fatalf("%q (%d chars)", got, len(got))
	}
}
