package runtime

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed bootstrap/bootstrap.cjs
var nodeBootstrap []byte

//go:embed bootstrap/bootstrap.py
var pythonBootstrap []byte

//go:embed bootstrap/host.cjs
var nodeHost []byte

//go:embed bootstrap/host.py
var pythonHost []byte

// bootstrapScript writes the embedded bootstrap for a runtime family
// ("node" or "python"; "node-host" and "python-host" for the stand-ins of
// the Cloud Functions and Azure Functions hosts, see host.go) under TempDir, in a directory named after its
// content so that several evcli versions can share TempDir, and returns its
// path. The file is checked against the embedded content's SHA-256 before
// every instance starts, not only the first time: handlers run as this
// user and could change it, and a changed bootstrap would run in every
// later instance. (What changes it between the check and the interpreter
// reading it is not caught: keep TempDir private, as .evcli is.)
func (m *Manager) bootstrapScript(fam string) (string, error) {
	m.scriptMu.Lock()
	defer m.scriptMu.Unlock()
	var content []byte
	var name string
	switch fam {
	case "node":
		content, name = nodeBootstrap, "bootstrap.cjs"
	case "python":
		content, name = pythonBootstrap, "bootstrap.py"
	case "node-host":
		content, name = nodeHost, "host.cjs"
	case "python-host":
		content, name = pythonHost, "host.py"
	default:
		return "", fmt.Errorf("no bootstrap for runtime family %q", fam)
	}
	sum := sha256.Sum256(content)
	dir := filepath.Join(m.o.TempDir, "evcli-runtime-"+hex.EncodeToString(sum[:6]))
	p := filepath.Join(dir, name)
	if b, err := os.ReadFile(p); err == nil && sha256.Sum256(b) == sum {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("writing the %s bootstrap: %w (set a writable temporary directory)", fam, err)
	}
	// Write then rename, so that a concurrent evcli never runs half a file.
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return "", fmt.Errorf("writing the %s bootstrap: %w", fam, err)
	}
	_, werr := tmp.Write(content)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("writing the %s bootstrap %s: %v", fam, p, firstErr(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("writing the %s bootstrap %s: %w", fam, p, err)
	}
	return p, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
