package cmd

import (
	"io/fs"
	"path/filepath"
	"strings"
)

// watchDirs lists root and its subdirectories, skipping node_modules,
// virtualenvs and hidden directories (fsnotify watches one level).
func watchDirs(root string) []string {
	var out []string
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "__pycache__" || name == "venv") {
			return filepath.SkipDir
		}
		out = append(out, path)
		return nil
	})
	return out
}
