package azure

import (
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
)

// TestSetMemoryLive: tune memory --apply moves the app to the instance
// size that holds the new memory, keeping its settings, code hash and
// subscriptions (no publish); the same memory again writes nothing; a
// size over Flex Consumption's largest is refused before any call.
func TestSetMemoryLive(t *testing.T) {
	e := newTestEnv(t, "tune", nil)
	fd := e.fn("echo", 1, `{"source":["shop"]}`)
	if err := e.p.Deployer.ApplyFunction(e.ctx, fd, true, nil); err != nil {
		t.Fatal(err)
	}
	if !e.p.Has(providers.AbilityMemory) {
		t.Fatalf("tune memory --apply is missing: %s", e.p.Missing[providers.AbilityMemory])
	}
	ms := e.p.Memory.(providers.LiveMemorySetter)
	before := len(e.h.MutatingCalls())
	says, err := ms.SetMemoryLive(e.ctx, "echo", 1536)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(says, "512 -> 1536 MB") || !strings.Contains(says, "2048 MB Flex Consumption instance") {
		t.Errorf("SetMemoryLive says %q", says)
	}
	for _, c := range e.h.MutatingCalls()[before:] {
		if strings.HasPrefix(c, "scm/") || strings.Contains(c, "eventSubscriptions") {
			t.Errorf("setting memory published or touched a subscription: %s", c)
		}
	}
	got, err := e.p.Deployer.Deployed(e.ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("Deployed = %+v, %v", got, err)
	}
	g := got[0]
	if g.MemoryMB != 1536 || g.CodeSha256 != fd.CodeSha256 || g.Env["GREETING"] != "hello" || len(g.Rules) != 1 || len(g.Drift) != 0 {
		t.Errorf("after SetMemoryLive: %+v", g)
	}
	for _, a := range e.h.fake.Apps() {
		if a.Settings[SettingFunction] == "echo" && a.Settings[SettingCode] != fd.CodeSha256 {
			t.Errorf("the code hash setting is %q, want %q", a.Settings[SettingCode], fd.CodeSha256)
		}
	}

	before = len(e.h.MutatingCalls())
	if says, err := ms.SetMemoryLive(e.ctx, "echo", 1536); err != nil || !strings.HasPrefix(says, "already 1536 MB") {
		t.Errorf("the same memory again: %q, %v", says, err)
	}
	if _, err := ms.SetMemoryLive(e.ctx, "echo", 8192); providers.CodeOf(err) != providers.InvalidArgument {
		t.Errorf("8192 MB: %v, want InvalidArgument", err)
	}
	if _, err := ms.SetMemoryLive(e.ctx, "nope", 512); providers.CodeOf(err) != providers.NotFound {
		t.Errorf("an unknown function: %v, want NotFound", err)
	}
	if after := e.h.MutatingCalls(); len(after) != before {
		t.Errorf("writes without a change: %v", after[before:])
	}
}
