//go:build unix

package local

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/evcli/evcli/providers"
)

// TestServeReportsEachRequest: local serve prints one line per request;
// the engine tells OnRequest of each, health checks aside.
func TestServeReportsEachRequest(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var got []providers.ServedRequest
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	o := Options{Dir: dir, OnRequest: func(r providers.ServedRequest) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
	}}
	go func() { done <- Serve(ctx, o, func(e *Engine) { ready <- e.Addr() }) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	defer func() { cancel(); <-done }()
	token := readToken(dir)
	for _, path := range []string{"/evcli/v1/health", "/2015-03-31/functions/payment/invocations"} {
		method := http.MethodPost
		if strings.HasSuffix(path, "health") {
			method = http.MethodGet
		}
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Op != "Invoke payment" || got[0].Status == 0 || got[0].Time.IsZero() {
		t.Fatalf("requests reported: %+v, want one Invoke payment (health checks are not reported)", got)
	}
}
