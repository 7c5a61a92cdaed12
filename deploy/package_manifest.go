package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
)

// ManifestFile records, in the build directory, the hash of each function's
// last zip so that the next build can say what changed.
const ManifestFile = "manifest.json"

const manifestVersion = 1

// manifestMu serialises read-modify-write of manifests within the process.
var manifestMu sync.Mutex

type manifest struct {
	Version   int                      `json:"version"`
	Artifacts map[string]manifestEntry `json:"artifacts"`
}

type manifestEntry struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// InputKey hashes the files the zip was made from (zipInputKey); a
	// later build of the same inputs reuses the zip.
	InputKey string `json:"inputKey,omitempty"`
}

// readManifest returns the manifest in dir; a missing, unreadable or foreign
// manifest counts as empty (every artifact is then "changed").
func readManifest(dir string) *manifest {
	m := &manifest{Version: manifestVersion, Artifacts: map[string]manifestEntry{}}
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m
	}
	var got manifest
	if json.Unmarshal(data, &got) != nil || got.Version != manifestVersion || got.Artifacts == nil {
		return m
	}
	return &got
}

func (m *manifest) changed(a Artifact) bool {
	prev, ok := m.Artifacts[a.Function]
	return !ok || prev.SHA256 != a.SHA256
}

// writeManifest replaces dir's manifest atomically.
func writeManifest(dir string, m *manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+ManifestFile+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, ManifestFile))
}

// PreviousSHA256 returns the hex SHA-256 recorded for function by the last
// build in dir, or "" when there is none.
func PreviousSHA256(dir, function string) string {
	manifestMu.Lock()
	defer manifestMu.Unlock()
	return readManifest(dir).Artifacts[function].SHA256
}
