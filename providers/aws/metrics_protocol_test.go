package aws

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// An endpoint that does not speak CloudWatch's rpc-v2-cbor (an emulator
// answering only the query protocol): the error names the protocol.
func TestInvocationTotalsErrorNamesTheProtocol(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>`))
	}))
	defer srv.Close()
	cfg := awssdk.Config{Region: "us-east-1", BaseEndpoint: awssdk.String(srv.URL), Retryer: func() awssdk.Retryer { return awssdk.NopRetryer{} },
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	m := NewMetricsSource(cfg, nil)
	_, _, _, err := m.InvocationTotals(context.Background(), "orders", time.Now().Add(-time.Hour), time.Now())
	if err == nil || !strings.Contains(err.Error(), "rpc-v2-cbor") {
		t.Fatalf("err = %v", err)
	}
}
