package aws

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/evcli/evcli/providers"
)

func TestDeployNamesFitAWSLimits(t *testing.T) {
	long := strings.Repeat("inventory-projection-", 4)
	tests := []struct {
		name, got string
		max       int
		charset   *regexp.Regexp
	}{
		{"short role", RoleName("shop", "orders"), 64, regexp.MustCompile(`^evcli-shop-orders$`)},
		{"long role", RoleName("shop", long+"a"), 64, regexp.MustCompile(`^evcli-shop-inventory-[\w+=,.@-]+-[0-9a-f]{8}$`)},
		{"short rule", RuleName("shop", "orders-0"), 64, regexp.MustCompile(`^shop-orders-0$`)},
		{"long rule", RuleName("shop", long+"-0"), 64, regexp.MustCompile(`^[.\-_A-Za-z0-9]+-[0-9a-f]{8}$`)},
		{"statement", statementID("shop-bus", RuleName("shop", long+"-0")), 100, regexp.MustCompile(`^[A-Za-z0-9_-]+$`)},
	}
	for _, tt := range tests {
		if len(tt.got) > tt.max || !tt.charset.MatchString(tt.got) {
			t.Errorf("%s: %q (%d chars), want at most %d matching %s", tt.name, tt.got, len(tt.got), tt.max, tt.charset)
		}
	}
	if RoleName("shop", long+"a") == RoleName("shop", long+"b") {
		t.Error("two long function names share a role name")
	}
	if RuleName("shop", long+"-0") == RuleName("shop", long+"-1") {
		t.Error("two long rule ids share a rule name")
	}
	if statementID("a", "r") == statementID("b", "r") {
		t.Error("the same rule on two buses shares a statement id")
	}
}

func TestDeployTagValueRoundTrip(t *testing.T) {
	for _, v := range []string{"", "detail.orderId", "$.detail.orderId", "b64:x", "a b=c/d", "détail[0]"} {
		enc := encodeTagValue(v)
		if !regexp.MustCompile(`^[\p{L}\p{N} _.:/=+\-@]*$`).MatchString(enc) {
			t.Errorf("encodeTagValue(%q) = %q: not a valid tag value", v, enc)
		}
		if got := decodeTagValue(enc); got != v {
			t.Errorf("round trip %q -> %q -> %q", v, enc, got)
		}
	}
}

func TestDeployErrorsHideEnvironmentValues(t *testing.T) {
	api := &smithy.GenericAPIError{Code: "InvalidParameterValueException", Message: "Value hunter2-token at 'environment.variables.TOKEN' failed"}
	err := redacted(wrapDeployErr("function orders", api), map[string]string{"TOKEN": "hunter2-token", "X": "1"})
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "***") {
		t.Errorf("error = %v", err)
	}
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != providers.InvalidArgument || pe.Resource != "function orders" {
		t.Errorf("error = %#v", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Error("redaction lost the API error")
	}
}

func TestDeployErrorCodes(t *testing.T) {
	tests := []struct {
		code string
		want providers.Code
	}{
		{"ResourceNotFoundException", providers.NotFound},
		{"NoSuchEntity", providers.NotFound},
		{"AccessDeniedException", providers.PermissionDenied},
		{"AccessDenied", providers.PermissionDenied},
		{"TooManyRequestsException", providers.Throttled},
		{"Throttling", providers.Throttled},
		{"ResourceConflictException", providers.Conflict},
		{"EntityAlreadyExists", providers.Conflict},
		{"InvalidParameterValueException", providers.InvalidArgument},
		{"ExpiredToken", providers.Unauthenticated},
		{"ServiceException", providers.Unavailable},
	}
	for _, tt := range tests {
		err := wrapDeployErr("x", &smithy.GenericAPIError{Code: tt.code})
		if got := providers.CodeOf(err); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.code, got, tt.want)
		}
	}
}

// Clients honour AWS_ENDPOINT_URL (through LoadConfig and the SDK's own
// resolution); S3 then addresses buckets by path.
func TestDeployEndpointOverride(t *testing.T) {
	e := newDeployEnv(t, nil)
	for _, kv := range e.srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_PROFILE", "")
	cfg, err := LoadConfig(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDeployer(cfg, DeployerOptions{Project: "shop"})
	if !d.s3.Options().UsePathStyle {
		t.Error("S3 is not path-style with an endpoint override")
	}
	if _, err := d.Deployed(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(e.srv.Calls()) == 0 {
		t.Error("the deployer did not reach the endpoint override")
	}
	plain := NewDeployer(awssdk.Config{Region: "us-east-1"}, DeployerOptions{Project: "shop"})
	if plain.s3.Options().UsePathStyle {
		t.Error("S3 is path-style without an endpoint override")
	}
	var lc *lambda.Client
	if !d.As(&lc) || lc == nil {
		t.Error("As(**lambda.Client) failed")
	}
}

// FuzzDeployTagValue: any correlation path survives the tag round trip and
// is stored as a valid tag value; any rule description either parses to the
// metadata it was made from or is rejected.
func FuzzDeployTagValue(f *testing.F) {
	for _, s := range []string{"", "$.detail.orderId", "b64:", "détail[0]", "a\x00b", `{"project":"x"}`} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^[\p{L}\p{N} _.:/=+\-@]*$`)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		enc := encodeTagValue(s)
		if !valid.MatchString(enc) {
			t.Fatalf("encodeTagValue(%q) = %q", s, enc)
		}
		if got := decodeTagValue(enc); got != s {
			t.Fatalf("round trip %q -> %q -> %q", s, enc, got)
		}
		m := ruleMeta{Project: "shop", Function: "f" + s, ID: s + "-0", Bus: s}
		got, ok := parseRuleMeta(m.description())
		if !ok || got != m {
			t.Fatalf("rule meta %+v -> %q -> %+v %v", m, m.description(), got, ok)
		}
		_, _ = parseRuleMeta(s) // never panics
	})
}
