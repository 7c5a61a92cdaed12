package azure

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tune"
)

// TestOpenSettings: a missing subscription or resource group is
// Unconfigured (exit 4) with the fix; bad endpoints are refused naming
// the variable; Offline opens without settings or calls.
func TestOpenSettings(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		o    providers.OpenOptions
		code providers.Code
		says []string
	}{
		{"no subscription", map[string]string{envSubscription: ""}, providers.OpenOptions{}, providers.Unconfigured,
			[]string{"no Azure subscription", envSubscription, "az account show"}},
		{"no resource group", map[string]string{envResourceGroup: ""}, providers.OpenOptions{}, providers.Unconfigured,
			[]string{"no resource group", envResourceGroup}},
		{"options win over variables", map[string]string{envSubscription: "", envResourceGroup: ""},
			providers.OpenOptions{Subscription: testSubscription, ResourceGroup: "rg"}, providers.Unknown, nil},
		{"an endpoint that is not a URL", map[string]string{EnvSCMEndpoint: "127.0.0.1:1"}, providers.OpenOptions{}, providers.InvalidArgument,
			[]string{EnvSCMEndpoint, "not an http:// or https:// URL"}},
		{"plaintext to another machine", map[string]string{EnvEventGridEndpoint: "http://example.com"}, providers.OpenOptions{}, providers.InvalidArgument,
			[]string{EnvEventGridEndpoint, "plaintext HTTP to another machine"}},
		{"another store", nil, providers.OpenOptions{Store: providers.StoreSpec{Type: "dynamodb"}}, providers.InvalidArgument,
			[]string{"cosmos"}},
		{"an artifact bucket", nil, providers.OpenOptions{ArtifactBucket: "b"}, providers.InvalidArgument, []string{"--artifact-bucket"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t.TempDir())
			defer h.Close()
			h.envOver = c.env
			o := h.options(c.o)
			o.Project = "p"
			p, err := Open(context.Background(), o)
			if c.code == providers.Unknown {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				p.Close(context.Background())
				return
			}
			if providers.CodeOf(err) != c.code {
				t.Fatalf("Open = %v (code %v), want code %v", err, providers.CodeOf(err), c.code)
			}
			var pe *providers.Error
			errors.As(err, &pe)
			for _, s := range c.says {
				if !strings.Contains(err.Error()+" "+pe.Hint, s) {
					t.Errorf("Open's error %q (hint %q) does not say %q", err, pe.Hint, s)
				}
			}
		})
	}
	t.Run("offline", func(t *testing.T) {
		p, err := Open(context.Background(), providers.OpenOptions{Project: "p", Offline: true, Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatalf("Open offline: %v", err)
		}
		if err := p.Require(providers.AbilityDeploy); providers.CodeOf(err) != providers.Unsupported || !strings.Contains(err.Error(), "offline") {
			t.Errorf("offline Require(deploy) = %v", err)
		}
	})
}

// TestCredentialFailureIsUnauthenticated: a credential that fails makes
// the call Unauthenticated, with "az login" as the fix.
func TestCredentialFailureIsUnauthenticated(t *testing.T) {
	c := classifiedCredential{failing{}}
	_, err := c.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armScope}})
	var pe *providers.Error
	if providers.CodeOf(err) != providers.Unauthenticated || !errors.As(err, &pe) || !strings.Contains(pe.Hint, "az login") {
		t.Errorf("GetToken = %v (code %v)", err, providers.CodeOf(err))
	}
}

type failing struct{}

func (failing) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("DefaultAzureCredential: failed to acquire a token")
}

// TestEndpointResolve: {name} templates for sovereign clouds, bases for
// fakes.
func TestEndpointResolve(t *testing.T) {
	for _, c := range []struct{ e, def, name, want string }{
		{"", "https://{name}.scm.azurewebsites.net", "app", "https://app.scm.azurewebsites.net"},
		{"https://{name}.scm.chinacloudsites.cn", "", "app", "https://app.scm.chinacloudsites.cn"},
		{"http://127.0.0.1:9/scm/", "", "app", "http://127.0.0.1:9/scm/app"},
	} {
		if got := (endpoint{url: strings.TrimRight(c.e, "/")}).resolve(c.def, c.name); got != c.want {
			t.Errorf("resolve(%q, %q) under %q = %q, want %q", c.def, c.name, c.e, got, c.want)
		}
	}
}

// TestOpenPricesAreFlexConsumption: tune prices an Azure function with
// Flex Consumption's table for the location Open settled (azure.location,
// else the region, else AZURE_LOCATION), not Lambda's.
func TestOpenPricesAreFlexConsumption(t *testing.T) {
	h := newHarness(t.TempDir())
	defer h.Close()
	for _, c := range []struct {
		name string
		o    providers.OpenOptions
		env  map[string]string
		loc  string
	}{
		{"azure.location", providers.OpenOptions{Location: "eastus2", Region: "westeurope"}, nil, "eastus2"},
		{"the region", providers.OpenOptions{Region: "westeurope"}, nil, "westeurope"},
		{"AZURE_LOCATION", providers.OpenOptions{}, map[string]string{envLocation: "eastus"}, "eastus"},
		{"offline", providers.OpenOptions{Offline: true, Region: "eastus"}, nil, "eastus"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.envOver = c.env
			o := h.options(c.o)
			o.Project = "p"
			p, err := Open(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			if p.Prices == nil {
				t.Fatal("no price table")
			}
			got, gotNote, err := p.Prices.Price("us-east-1", "x86_64", nil)
			want, wantNote := tune.LookupFlexPrice(c.loc, nil)
			if err != nil || got != providers.Price(want) || gotNote != wantNote {
				t.Errorf("Price = %+v %q %v, want Flex Consumption's for %s: %+v %q", got, gotNote, err, c.loc, want, wantNote)
			}
		})
	}
}
