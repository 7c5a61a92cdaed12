package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ciModules is .ci/node_modules of this repository: the emulators and Node
// packages .ci/run installs (cd .ci && npm ci).
var ciModules = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".ci", "node_modules")
}()

// Dynalite returns EVCLI_DYNALITE_ENDPOINT, or starts dynalite
// (EVCLI_DYNALITE_BIN, else .ci/node_modules) on a free 127.0.0.1 port for
// the test. It skips (see Skip) only when node or dynalite is not installed.
func Dynalite(t testing.TB) string {
	t.Helper()
	ep, why := StartDynalite(t)
	if why != "" {
		Skip(t, "dynalite (a DynamoDB emulator)", why)
	}
	return ep
}

// StartDynalite is Dynalite that says why dynalite is absent instead of
// skipping.
func StartDynalite(t testing.TB) (endpoint, absent string) {
	t.Helper()
	if ep := os.Getenv("EVCLI_DYNALITE_ENDPOINT"); ep != "" {
		return ep, ""
	}
	bin := os.Getenv("EVCLI_DYNALITE_BIN")
	if bin == "" {
		bin = filepath.Join(ciModules, ".bin", "dynalite")
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", "node is not installed: DynamoDB tests need dynalite (install Node.js, then cd .ci && npm ci)"
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Sprintf("dynalite is not installed at %s: run cd .ci && npm ci (or set EVCLI_DYNALITE_BIN or EVCLI_DYNALITE_ENDPOINT)", bin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dynalite: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dynalite did not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + addr, ""
}

// NodeSDK returns the NODE_PATH under which Node finds the AWS SDK for
// JavaScript v3's DynamoDB client (@aws-sdk/client-dynamodb), which Lambda's
// Node runtime brings and .ci/run installs; it skips when either node or the
// package is missing.
func NodeSDK(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		Skip(t, "node", "install Node.js 20 or later")
	}
	if _, err := os.Stat(filepath.Join(ciModules, "@aws-sdk", "client-dynamodb", "package.json")); err != nil {
		Skip(t, "the AWS SDK for JavaScript (@aws-sdk/client-dynamodb)", "run cd .ci && npm ci")
	}
	return ciModules
}

// TTLShim stands in front of dynalite, which has no UpdateTimeToLive: it
// answers UpdateTimeToLive and DescribeTimeToLive from memory (per table)
// and passes every other call through.
type TTLShim struct {
	URL  string // the shim's endpoint: use it instead of dynalite's
	mu   sync.Mutex
	ttl  map[string]string // table -> attribute
	seen []string
}

// NewTTLShim starts a TTLShim in front of the DynamoDB endpoint target for
// the test.
func NewTTLShim(t testing.TB, target string) *TTLShim {
	s := &TTLShim{ttl: map[string]string{}}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
		s.mu.Lock()
		s.seen = append(s.seen, op)
		s.mu.Unlock()
		if op != "UpdateTimeToLive" && op != "DescribeTimeToLive" {
			proxy.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in struct {
			TableName               string
			TimeToLiveSpecification struct {
				AttributeName string
				Enabled       bool
			}
		}
		_ = json.Unmarshal(body, &in)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if op == "UpdateTimeToLive" {
			if in.TimeToLiveSpecification.Enabled {
				s.ttl[in.TableName] = in.TimeToLiveSpecification.AttributeName
			} else {
				delete(s.ttl, in.TableName)
			}
			json.NewEncoder(w).Encode(map[string]any{"TimeToLiveSpecification": in.TimeToLiveSpecification})
			return
		}
		desc := map[string]string{"TimeToLiveStatus": "DISABLED"}
		if a := s.ttl[in.TableName]; a != "" {
			desc = map[string]string{"TimeToLiveStatus": "ENABLED", "AttributeName": a}
		}
		json.NewEncoder(w).Encode(map[string]any{"TimeToLiveDescription": desc})
	}))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Calls lists the DynamoDB operations the shim saw, in order.
func (s *TTLShim) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// DisableTTL switches a table's TTL off, as someone outside evcli would.
func (s *TTLShim) DisableTTL(table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ttl, table)
}
