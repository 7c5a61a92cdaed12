//go:build unix

package local

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveForTest runs Serve on dir until the test ends and returns the
// server's address and token.
func serveForTest(t *testing.T, dir string) (addr, token string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, Options{Dir: dir}, func(e *Engine) { ready <- e.Addr() }) }()
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return addr, readToken(dir)
}

func TestServeTrustsOnlyItsOwner(t *testing.T) {
	dir := t.TempDir()
	addr, token := serveForTest(t, dir)
	if len(token) != 64 {
		t.Fatalf("token %q", token)
	}
	if fi, err := os.Stat(filepath.Join(dir, tokenFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	const putEvents = `{"Entries":[{"Source":"s","DetailType":"T","Detail":"{}"}]}`
	sig := func(key string) string {
		return "AWS4-HMAC-SHA256 Credential=" + key + "/20240101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=00"
	}
	for _, tc := range []struct {
		name, path, body string
		header           map[string]string
		host             string
		want             int
	}{
		{"own endpoint without token", "/evcli/v1/health", "", nil, "", 401},
		{"own endpoint, wrong token", "/evcli/v1/health", "", map[string]string{"Authorization": "Bearer x"}, "", 401},
		{"own endpoint with token", "/evcli/v1/health", "", map[string]string{"Authorization": "Bearer " + token}, "", 200},
		{"browser form post to send", "/evcli/v1/send", `{"events":[]}`, map[string]string{"Origin": "http://evil.example.com", "Content-Type": "text/plain"}, "", 401},
		{"reload without token", "/evcli/v1/reload", "", nil, "", 401},
		{"adopt without token", "/evcli/v1/adopt", `{"deliveries":[]}`, nil, "", 401},
		{"unsigned PutEvents", "/", putEvents, map[string]string{"X-Amz-Target": "AWSEvents.PutEvents"}, "", 403},
		{"signed PutEvents from this machine (AWS CLI)", "/", putEvents, map[string]string{"X-Amz-Target": "AWSEvents.PutEvents", "Authorization": sig("AKIAUSER")}, "", 200},
		{"signed PutEvents with an Origin (a web page)", "/", putEvents, map[string]string{"X-Amz-Target": "AWSEvents.PutEvents", "Authorization": sig("AKIAUSER"), "Origin": "http://evil.example.com"}, "", 403},
		{"signed PutEvents, rebinding Host", "/", putEvents, map[string]string{"X-Amz-Target": "AWSEvents.PutEvents", "Authorization": sig("AKIAUSER")}, "evil.example.com", 403},
		{"PutEvents signed with the token, any Host", "/", putEvents, map[string]string{"X-Amz-Target": "AWSEvents.PutEvents", "Authorization": sig(token)}, "evcli.lan:4010", 200},
		{"unsigned Invoke", "/2015-03-31/functions/f/invocations", "{}", nil, "", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodPost
			if strings.HasSuffix(tc.path, "health") {
				method = http.MethodGet
			}
			req, _ := http.NewRequest(method, "http://"+addr+tc.path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	// evcli's own client reads the token file.
	c, ok := Running(context.Background(), dir)
	if !ok {
		t.Fatal("Running does not find the server")
	}
	if _, err := c.Send(context.Background(), "", nil, false); err != nil {
		t.Fatalf("client send: %v", err)
	}
	// A second server on the same project refuses, naming the first.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Serve(ctx, Options{Dir: dir}, func(*Engine) { t.Error("a second server started") })
	if err == nil || !strings.Contains(err.Error(), "already running at http://"+addr) || !strings.Contains(err.Error(), "evcli process") {
		t.Fatalf("second Serve = %v", err)
	}
}

func TestServeRemoteAddrNeedsAllowRemote(t *testing.T) {
	dir := t.TempDir()
	err := Serve(context.Background(), Options{Dir: dir, Addr: "0.0.0.0:0"}, nil)
	if !errors.Is(err, ErrRemoteAddr) || !strings.Contains(err.Error(), "--allow-remote") {
		t.Fatalf("Serve on 0.0.0.0 = %v, want ErrRemoteAddr naming --allow-remote", err)
	}
	// With AllowRemote it is allowed (and Serve warns); tests bind only
	// loopback addresses, so the check is tested alone.
	if err := checkAddr(Options{Addr: "0.0.0.0:4010", AllowRemote: true}); err != nil {
		t.Fatalf("checkAddr with AllowRemote: %v", err)
	}
	for addr, want := range map[string]bool{"127.0.0.1:0": true, "localhost:4010": true, "[::1]:1": true, ":4010": false, "0.0.0.0:1": false, "192.168.1.2:1": false} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%q) = %v", addr, !want)
		}
	}
}
