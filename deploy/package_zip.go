package deploy

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/evcli/evcli/project"
)

// zipEntry is one file to put in a zip.
type zipEntry struct {
	Name string      // slash-separated path inside the zip
	Path string      // file on disk to read (a symlink's target, resolved)
	Mode fs.FileMode // 0o755 or 0o644
	Size int64
}

// The MS-DOS timestamp of every entry: 1980-01-01 00:00:00, the earliest the
// format can hold (date = (year-1980)<<9 | month<<5 | day).
const (
	zipDate = 0<<9 | 1<<5 | 1
	zipTime = 0
)

// WriteZip writes entries to w as a deterministic zip: entries sorted by
// name, each Deflate-compressed at a fixed level, dated 1980-01-01 00:00:00,
// mode 0755 or 0644 (Unix attributes), with no extra fields, no directory
// entries and no comment. The same files give the same bytes.
func WriteZip(w io.Writer, entries []zipEntry) error {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b zipEntry) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Name == sorted[i-1].Name {
			return fmt.Errorf("two files would be stored as %q in the zip", sorted[i].Name)
		}
	}
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, newFlateWriter)
	for _, e := range sorted {
		if err := checkZipName(e.Name); err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if e.Mode&0o111 != 0 {
			mode = 0o755
		}
		// Modified is left zero on purpose: archive/zip would add an
		// extended-timestamp extra field for it. The legacy MS-DOS fields
		// are written as they are.
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		h.ModifiedDate, h.ModifiedTime = zipDate, zipTime //nolint:staticcheck // see above
		h.SetMode(mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if err := copyFile(fw, e.Path); err != nil {
			return err
		}
	}
	return zw.Close()
}

// flateWriters recycles compressors: each holds about a megabyte of state,
// and a node_modules tree has thousands of files.
var flateWriters sync.Pool

// newFlateWriter returns a Deflate compressor at a fixed level (the level is
// part of what makes the bytes reproducible).
func newFlateWriter(out io.Writer) (io.WriteCloser, error) {
	fw, ok := flateWriters.Get().(*flate.Writer)
	if ok {
		fw.Reset(out)
	} else {
		var err error
		if fw, err = flate.NewWriter(out, flate.DefaultCompression); err != nil {
			return nil, err
		}
	}
	return &pooledFlateWriter{fw: fw}, nil
}

type pooledFlateWriter struct{ fw *flate.Writer }

func (w *pooledFlateWriter) Write(p []byte) (int, error) { return w.fw.Write(p) }

func (w *pooledFlateWriter) Close() error {
	err := w.fw.Close()
	flateWriters.Put(w.fw)
	w.fw = nil
	return err
}

// checkZipName refuses names that would extract outside the target directory.
func checkZipName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || !fs.ValidPath(name) {
		return fmt.Errorf("%q is not a safe path inside a zip: it must be relative, slash-separated and stay inside the package", name)
	}
	return nil
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// collectSource lists the files of a Node, Python or prebuilt function's
// source directory that go in its zip: everything except what DefaultIgnore
// and the directory's .evcliignore exclude. Symlinks are followed when they
// stay inside the directory and refused when they leave it.
func collectSource(fn *project.Function, src string) ([]zipEntry, error) {
	root, err := filepath.EvalSymlinks(src)
	if err != nil {
		return nil, fmt.Errorf("function %q: source %s: %w", fn.Name, fn.Source, unwrapPathError(err))
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	ig := MustIgnore(DefaultIgnore...)
	ignorePath := filepath.Join(root, IgnoreFile)
	if f, err := os.Open(ignorePath); err == nil {
		user, perr := ParseIgnore(filepath.ToSlash(filepath.Join(fn.Source, IgnoreFile)), f)
		f.Close()
		if perr != nil {
			return nil, fmt.Errorf("function %q: %w", fn.Name, perr)
		}
		ig = ig.Append(user)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("function %q: %w", fn.Name, err)
	}
	w := &sourceWalker{fn: fn, root: root, ig: ig}
	if err := w.walk(root, nil, []string{root}); err != nil {
		return nil, err
	}
	return w.entries, nil
}

type sourceWalker struct {
	fn      *project.Function
	root    string // resolved, absolute
	ig      *Ignore
	entries []zipEntry
}

// display names a file for messages: the function's source path joined
// with the path inside it.
func (w *sourceWalker) display(rel []string) string {
	return filepath.ToSlash(filepath.Join(append([]string{w.fn.Source}, rel...)...))
}

// walk adds the files under dir (whose path inside the zip is rel). stack
// holds the resolved directories being walked, to catch symlink loops.
func (w *sourceWalker) walk(dir string, rel []string, stack []string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("function %q: %w", w.fn.Name, err)
	}
	for _, e := range ents {
		erel := append(slices.Clip(rel), e.Name())
		name := strings.Join(erel, "/")
		path := filepath.Join(dir, e.Name())
		info, err := os.Lstat(path)
		if err != nil {
			return fmt.Errorf("function %q: %w", w.fn.Name, err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(path)
			if err != nil {
				if w.ig.matchPath(erel, false) {
					continue // an ignored dangling link is no concern
				}
				return fmt.Errorf("function %q: %s is a symlink that cannot be followed (%v): fix or remove the link, or list it in %s", w.fn.Name, w.display(erel), unwrapPathError(err), IgnoreFile)
			}
			if target, err = filepath.Abs(target); err != nil {
				return err
			}
			if !within(w.root, target) {
				if w.ig.matchPath(erel, false) || w.ig.matchPath(erel, true) {
					continue
				}
				return fmt.Errorf("function %q: %s is a symlink to %s, outside the source directory %s: a zip cannot follow it there; copy the file into %s or list the link in %s", w.fn.Name, w.display(erel), target, w.fn.Source, w.fn.Source, IgnoreFile)
			}
			if info, err = os.Stat(target); err != nil {
				return fmt.Errorf("function %q: %w", w.fn.Name, err)
			}
			path = target
		}
		switch {
		case info.IsDir():
			if w.ig.matchPath(erel, true) {
				continue
			}
			real := path
			if r, err := filepath.EvalSymlinks(path); err == nil {
				real = r
			}
			if slices.Contains(stack, real) {
				return fmt.Errorf("function %q: %s is a symlink to one of its own parent directories, which would repeat forever: remove the link or list it in %s", w.fn.Name, w.display(erel), IgnoreFile)
			}
			if err := w.walk(path, erel, append(slices.Clip(stack), real)); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if w.ig.matchPath(erel, false) {
				continue
			}
			mode := fs.FileMode(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			w.entries = append(w.entries, zipEntry{Name: name, Path: path, Mode: mode, Size: info.Size()})
		default:
			if w.ig.matchPath(erel, false) {
				continue
			}
			return fmt.Errorf("function %q: %s is not a regular file (%v): a zip can only hold files; remove it or list it in %s", w.fn.Name, w.display(erel), info.Mode().Type(), IgnoreFile)
		}
	}
	return nil
}

// within reports whether path is root or inside it (both absolute, cleaned).
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}
