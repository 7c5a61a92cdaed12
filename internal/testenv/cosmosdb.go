package testenv

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// CosmosDB starts @vercel/cosmosdb-server (a Cosmos DB NoSQL API emulator,
// EVCLI_COSMOSDB_BIN, else .ci/node_modules) on a free 127.0.0.1 port for
// the test and returns its HTTPS endpoint and an HTTP client that trusts
// exactly the emulator's self-signed certificate. It skips (see Skip) only
// when node or the emulator is not installed.
func CosmosDB(t testing.TB) (endpoint string, client *http.Client) {
	t.Helper()
	ep, c, why := StartCosmosDB(t)
	if why != "" {
		Skip(t, "@vercel/cosmosdb-server (a Cosmos DB emulator)", why)
	}
	return ep, c
}

// StartCosmosDB is CosmosDB that says why the emulator is absent instead of
// skipping.
func StartCosmosDB(t testing.TB) (endpoint string, client *http.Client, absent string) {
	t.Helper()
	bin := os.Getenv("EVCLI_COSMOSDB_BIN")
	if bin == "" {
		bin = filepath.Join(ciModules, "@vercel", "cosmosdb-server", "lib", "cli.js")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", nil, "node is not installed: Cosmos DB tests need @vercel/cosmosdb-server (install Node.js, then cd .ci && npm ci)"
	}
	if _, err := os.Stat(bin); err != nil {
		return "", nil, fmt.Sprintf("@vercel/cosmosdb-server is not installed at %s: run cd .ci && npm ci (or set EVCLI_COSMOSDB_BIN)", bin)
	}
	certPEM, err := os.ReadFile(filepath.Join(filepath.Dir(bin), "..", "cert.pem"))
	if err != nil {
		t.Fatalf("the emulator's certificate: %v", err)
	}
	client, err = PinnedClient(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(node, bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	// The emulator prints a stack trace for each request it fails, some
	// of them expected (see the driver's tests): shown only when the test
	// fails.
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start cosmosdb-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("cosmosdb-server's output:\n%s", logs.String())
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cosmosdb-server did not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "https://" + addr + "/", client, ""
}

// PinnedClient returns an HTTP client that accepts exactly the server
// certificate certPEM and nothing else: the emulator's certificate is
// self-signed, expired and names no host, so ordinary verification cannot
// pass, and a test must not turn verification off wholesale.
func PinnedClient(certPEM []byte) (*http.Client, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, errors.New("the pinned certificate is not PEM")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("the pinned certificate: %v", err)
	}
	want := block.Bytes
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{
		// Verification is VerifyPeerCertificate's: the leaf must be the
		// pinned certificate, byte for byte.
		InsecureSkipVerify: true, //nolint:gosec // pinned below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], want) {
				return errors.New("the server's certificate is not the pinned emulator certificate")
			}
			return nil
		},
	}
	return &http.Client{Transport: tr, Timeout: time.Minute}, nil
}
