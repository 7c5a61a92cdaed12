package local

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// tokenFile holds the running server's token, readable by its owner only.
const tokenFile = "serve.token"

func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeToken stores token in dir's token file (0600), replacing it whole.
func writeToken(dir, token string) error {
	tmp, err := os.CreateTemp(dir, tokenFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(token); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, tokenFile))
}

func readToken(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, tokenFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// IsLoopback reports whether addr (host:port, or a host) names this machine
// only: a loopback IP or "localhost". An empty host (":4010") listens on
// every interface and is not loopback.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ErrRemoteAddr is returned by Start for a non-loopback Options.Addr
// without Options.AllowRemote.
var ErrRemoteAddr = errors.New("address is reachable from other machines")

func checkAddr(o Options) error {
	if o.Addr == "" || IsLoopback(o.Addr) || o.AllowRemote {
		return nil
	}
	return fmt.Errorf("local provider: --addr %s: %w: anyone who can reach it could send events and run your functions; use a 127.0.0.1 address, or add --allow-remote if that is what you want", o.Addr, ErrRemoteAddr)
}

// guard lets through only the server's owner (see the package doc):
//
//   - /evcli/v1/*: the token, as "Authorization: Bearer TOKEN".
//   - the AWS endpoints (PutEvents, Invoke): a request signed (SigV4) with
//     the token or a handler instance's access key id, from anywhere; or
//     a request signed with any key, with a loopback Host and no Origin
//     header, which is what an AWS SDK or CLI on this machine sends and
//     what a web page cannot (it cannot set Authorization without a CORS
//     preflight, which is never answered, and DNS rebinding shows in Host).
func (e *Engine) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, apiPrefix) {
			tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !sameToken(tok, e.token) {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong token: evcli commands read it from .evcli/" + tokenFile})
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !e.trustedAWS(r) {
			w.Header().Set("X-Amzn-ErrorType", "UnrecognizedClientException")
			writeJSON(w, http.StatusForbidden, map[string]string{"__type": "UnrecognizedClientException",
				"message": "evcli local provider: request refused: sign it (SigV4) from this machine, with a loopback Host and no Origin header, or with the server's token as access key id"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (e *Engine) trustedAWS(r *http.Request) bool {
	if r.Header.Get("Origin") != "" {
		return false // a browser; SDKs and the AWS CLI send none
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		return false
	}
	key := accessKeyOf(r)
	if sameToken(key, e.token) {
		return true
	}
	if _, _, ok := e.rt.CallerOf(key); ok {
		return true
	}
	return IsLoopback(r.Host)
}
