package azure

import (
	"regexp"
	"strings"
	"testing"
)

var (
	storageRE = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	appRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,58}[a-z0-9]$`)
	subRE     = regexp.MustCompile(`^[A-Za-z0-9-]{3,64}$`)
	topicRE   = regexp.MustCompile(`^[A-Za-z0-9-]{3,50}$`)
	contRE    = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)
)

// TestNames: every physical name keeps Azure's rules, is stable, and
// differs where it must (another project, subscription or group).
func TestNames(t *testing.T) {
	projects := []string{"shop", "Shop_Orders.v2", "a", strings.Repeat("long-project-", 8), "ünïcode", "--"}
	fns := []string{"orders", "Payment_Handler", strings.Repeat("f", 80), "x"}
	seen := map[string]string{}
	for _, p := range projects {
		n := Namer{Subscription: "sub", ResourceGroup: "rg", Project: p}
		if sa := n.StorageAccount(); !storageRE.MatchString(sa) {
			t.Errorf("storage account of %q = %q: not 3-24 lower-case letters and digits", p, sa)
		} else if prev, ok := seen[sa]; ok {
			t.Errorf("storage account %q for %q and %q", sa, p, prev)
		} else {
			seen[sa] = p
		}
		if n.StorageAccount() != n.StorageAccount() {
			t.Errorf("storage account of %q is not stable", p)
		}
		for _, f := range fns {
			app := n.App(f)
			if !appRE.MatchString(app) {
				t.Errorf("app of %q/%q = %q: not a 2-60 character host label", p, f, app)
			}
			if c := Container(app); !contRE.MatchString(c) {
				t.Errorf("container of %q = %q", app, c)
			}
			if s := n.EventSubscription(f + "-0"); !subRE.MatchString(s) {
				t.Errorf("subscription of %q/%q = %q", p, f, s)
			}
		}
	}
	a := Namer{Subscription: "s1", ResourceGroup: "rg", Project: "shop"}
	b := Namer{Subscription: "s2", ResourceGroup: "rg", Project: "shop"}
	if a.App("orders") == b.App("orders") || a.StorageAccount() == b.StorageAccount() {
		t.Errorf("two subscriptions share globally unique names: %s %s", a.App("orders"), a.StorageAccount())
	}
	if !strings.HasPrefix(a.App("orders"), "shop-orders-") {
		t.Errorf("App = %q: the physical name carries the project and function", a.App("orders"))
	}
	for _, bus := range []string{"", "default", "shop-bus", "a.b", "x"} {
		if tp := Topic(bus); !topicRE.MatchString(tp) {
			t.Errorf("Topic(%q) = %q", bus, tp)
		}
	}
}
