package providertest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Handler is what the function Harness.Function deploys must do when
// invoked with a JSON object (an invoke payload or an EventBridge event):
//
//   - when the object has a non-empty "fail", raise an error with that
//     message (a function error: Lambda's Unhandled);
//   - otherwise return the object unchanged;
//   - print one line "conformance id=<id> mark=<mark>" with the object's
//     "id" and "mark" members.
//
// Variants of the code (Harness.Function's variant) differ in their bytes,
// so in their code hash, not in what they do.
const Handler = `import json

VARIANT = %d


def handler(event, context):
    if isinstance(event, dict):
        print("conformance id=%%s mark=%%s" %% (event.get("id", ""), event.get("mark", "")), flush=True)
        if event.get("fail"):
            raise RuntimeError(str(event["fail"]))
    return event
`

// PythonRuntime and PythonHandler are the runtime and handler of
// PythonArtifact's code.
const (
	PythonRuntime = "python3.12"
	PythonHandler = "app.handler"
)

// PythonArtifact writes the Handler as app.py in a deterministic zip under
// dir and returns its path and its CodeSha256 (Lambda's base64 SHA-256).
func PythonArtifact(dir string, variant int) (path, codeSha256 string, err error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "app.py", Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.SetMode(0o644)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return "", "", err
	}
	fmt.Fprintf(w, Handler, variant)
	if err := zw.Close(); err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	path = filepath.Join(dir, fmt.Sprintf("conformance-%d-%x.zip", variant, sum[:4]))
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", "", err
	}
	return path, base64.StdEncoding.EncodeToString(sum[:]), nil
}
