package fakecloud

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CosmosKey is the account key of the Cosmos DB emulators (the
// well-known one Microsoft's emulator documents; cosmosdb-server accepts
// any).
const CosmosKey = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU901DDj5g3c93F6M8nU+3lbbpv6WDxNIsdkkV7pZZ4Ygg8YA=="

// ciModules is this repository's .ci/node_modules (cd .ci && npm ci).
var ciModules = func() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".ci", "node_modules")
}()

// cosmosEmulator is @vercel/cosmosdb-server behind a plaintext proxy on
// 127.0.0.1: the emulator's certificate is self-signed, expired and names
// no host, so no client can trust it without a test hook; the proxy
// trusts exactly that certificate, and evcli reaches the proxy over
// http:// as it reaches any emulator (EVCLI_AZURE_COSMOS_ENDPOINT). The
// proxy also smooths two gaps of the emulator the driver's own tests work
// around (a missing document read answers 500, a batch's partition key is
// read from each operation).
type cosmosEmulator struct {
	cmd   *exec.Cmd
	proxy *httptest.Server
}

func (c *cosmosEmulator) URL() string { return c.proxy.URL + "/" }

func (c *cosmosEmulator) stop() {
	if c.proxy != nil {
		c.proxy.Close()
	}
	if c.cmd != nil && c.cmd.Process != nil {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		_ = c.cmd.Wait()
	}
}

func startCosmos(wait time.Duration) (*cosmosEmulator, error) {
	bin := os.Getenv("EVCLI_COSMOSDB_BIN")
	if bin == "" {
		bin = filepath.Join(ciModules, "@vercel", "cosmosdb-server", "lib", "cli.js")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, &AbsentError{"@vercel/cosmosdb-server (a Cosmos DB emulator)", "node is not installed (install Node.js, then cd .ci && npm ci)"}
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, &AbsentError{"@vercel/cosmosdb-server (a Cosmos DB emulator)", fmt.Sprintf("it is not installed at %s: run cd .ci && npm ci (or set EVCLI_COSMOSDB_BIN)", bin)}
	}
	certPEM, err := os.ReadFile(filepath.Join(filepath.Dir(bin), "..", "cert.pem"))
	if err != nil {
		return nil, fmt.Errorf("the Cosmos DB emulator's certificate: %v", err)
	}
	tr, err := pinnedTransport(certPEM)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting cosmosdb-server: %w", err)
	}
	c := &cosmosEmulator{cmd: cmd}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := waitListening(addr, wait); err != nil {
		c.stop()
		return nil, fmt.Errorf("cosmosdb-server: %w", err)
	}
	target := &url.URL{Scheme: "https", Host: addr}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = cosmosFix{tr}
	c.proxy = httptest.NewServer(rp)
	// The account's read answers its own https address as the endpoint to
	// use: the proxy's is the one clients can reach.
	rp.ModifyResponse = func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte("https://"+addr), []byte(c.proxy.URL))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	return c, nil
}

// pinnedTransport accepts exactly the server certificate certPEM.
func pinnedTransport(certPEM []byte) (*http.Transport, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, errors.New("the Cosmos DB emulator's certificate is not PEM")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("the Cosmos DB emulator's certificate: %v", err)
	}
	want := block.Bytes
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // pinned below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], want) {
				return errors.New("the server's certificate is not the pinned emulator certificate")
			}
			return nil
		},
	}
	return tr, nil
}

// cosmosFix answers as Cosmos DB does where cosmosdb-server does not.
type cosmosFix struct{ rt http.RoundTripper }

func (f cosmosFix) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.EqualFold(req.Header.Get("x-ms-cosmos-is-batch-request"), "true") && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		var ops []map[string]any
		if json.Unmarshal(b, &ops) == nil {
			for _, op := range ops {
				if _, ok := op["partitionKey"]; !ok {
					op["partitionKey"] = req.Header.Get("x-ms-documentdb-partitionkey")
				}
			}
			b, _ = json.Marshal(ops)
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
	}
	resp, err := f.rt.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusInternalServerError || !strings.Contains(req.URL.Path, "/docs/") {
		return resp, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(b, []byte("Cannot read properties of undefined")) {
		resp.StatusCode, resp.Status = http.StatusNotFound, "404 Not Found"
		b = []byte(`{"code":"NotFound","message":"Entity with the specified id does not exist in the system."}`)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
}

// tlsProxy serves target (an HTTPS fake with its own certificate, reached
// with client) over HTTPS on 127.0.0.1 with net/http/httptest's
// certificate, which clients trust through SSL_CERT_FILE (see caFile):
// the Azure SDK's token policy sends credentials over TLS only.
func tlsProxy(target string, client *http.Client) (*httptest.Server, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = client.Transport
	return httptest.NewTLSServer(rp), nil
}

// caFile writes srv's certificate (httptest's, for 127.0.0.1) as PEM to
// dir and returns its path, for SSL_CERT_FILE: Go's crypto/x509 reads the
// trusted roots from there on Linux and the other Unixes.
func caFile(dir string, srv *httptest.Server) (string, error) {
	p := filepath.Join(dir, "fakecloud-ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return p, os.WriteFile(p, b, 0o644)
}
