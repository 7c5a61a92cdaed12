package gcp

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/gcp/guard"
	"github.com/evcli/evcli/providers/internal/guardwasm"
)

// The in-function guard (package guard): with gcp.guard: in-function, a
// Node.js function with a pattern Pub/Sub cannot enforce whole is
// uploaded with evcli's generated entrypoint (evcli_guard.js, which
// package.json's main then names) and package filter built for
// WebAssembly; the entrypoint loads the function's own main
// (EVCLI_GUARD_MAIN) and runs its handler only for events a rule matches.
const (
	EnvGuardMain     = "EVCLI_GUARD_MAIN"
	EnvGuardPatterns = "EVCLI_GUARD_PATTERNS" // rule id -> the pattern's text, exactly as written
	EnvGuardSubs     = "EVCLI_GUARD_SUBS"     // subscription id -> rule id
	LabelGuard       = "evcli-guard"          // the guard's version (a hash of its files)
)

// guardVersion is a short hash of the guard's files: a new evcli with a
// different guard re-uploads guarded functions.
var guardVersion = sync.OnceValue(func() string {
	h := sha256.New()
	h.Write(guard.EntryJS())
	for _, f := range guardwasm.Files() {
		h.Write(f.Body)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// needsGuard reports whether fd has a rule Pub/Sub cannot enforce whole.
func needsGuard(fd providers.FunctionDeployment) bool {
	for _, r := range fd.Rules {
		if tr, err := Translate(r.Pattern); err == nil && tr.NeedsGuard() {
			return true
		}
	}
	return false
}

// guardEnv is the environment the guard reads, for a guarded fd.
func (d *deployer) guardEnv(fd providers.FunctionDeployment) (map[string]string, error) {
	main, err := zipMain(fd.ArtifactPath)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the package for the guard: %w", fd.Name, err)
	}
	pats, subs := map[string]string{}, map[string]string{}
	for _, r := range fd.Rules {
		pats[r.ID] = string(r.Pattern)
		subs[SubscriptionID(d.project, fd.Name, r.ID)] = r.ID
	}
	pb, _ := json.Marshal(pats)
	sb, _ := json.Marshal(subs)
	return map[string]string{EnvGuardMain: main, EnvGuardPatterns: string(pb), EnvGuardSubs: string(sb)}, nil
}

// zipMain is the main module of the Node.js package in the zip at path:
// package.json's main, else index.js.
func zipMain(path string) (string, error) {
	if path == "" {
		return "index.js", nil
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "package.json" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return "", err
		}
		var pkg struct {
			Main string `json:"main"`
		}
		if err := json.Unmarshal(b, &pkg); err != nil {
			return "", fmt.Errorf("package.json: %v", err)
		}
		if pkg.Main != "" && pkg.Main != guard.EntryFile {
			return pkg.Main, nil
		}
	}
	return "index.js", nil
}

// guardedZip is the zip at path with the guard's files added and
// package.json's main pointing at the entrypoint (the rest as it was:
// same order, same times, so the result is as deterministic as the input).
func guardedZip(path string) ([]byte, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var pkg map[string]any
	modified := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range zr.File {
		switch f.Name {
		case guard.EntryFile, guardwasm.EngineFile, guardwasm.WasmFile:
			continue
		case "package.json":
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(b, &pkg); err != nil {
				return nil, fmt.Errorf("package.json: %v", err)
			}
			continue
		}
		if err := zw.Copy(f); err != nil {
			return nil, err
		}
	}
	if pkg == nil {
		pkg = map[string]any{"name": "evcli-function", "version": "1.0.0"}
	}
	pkg["main"] = guard.EntryFile
	pj, err := json.MarshalIndent(pkg, "", "  ") // keys sorted: deterministic
	if err != nil {
		return nil, err
	}
	files := []guardwasm.File{{Name: "package.json", Body: append(pj, '\n')}, {Name: guard.EntryFile, Body: guard.EntryJS()}}
	for _, f := range append(files, guardwasm.Files()...) {
		m := zip.Deflate
		if f.Stored {
			m = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: m, Modified: modified})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.Body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readArtifact is the zip to upload for fd: with the guard when guarded.
func (d *deployer) readArtifact(fd providers.FunctionDeployment) ([]byte, error) {
	if d.guard && needsGuard(fd) && strings.HasPrefix(fd.Runtime, "nodejs") {
		return guardedZip(fd.ArtifactPath)
	}
	return os.ReadFile(fd.ArtifactPath)
}
