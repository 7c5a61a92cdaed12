package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/evcli/evcli/project"

	"github.com/evcli/evcli/internal/suggest"
)

// BuildDir is where Package writes the zips, relative to the project directory.
const BuildDir = ".evcli/build"

// Artifact is one packaged function.
type Artifact struct {
	Function string
	Path     string // absolute path of the zip
	Size     int64  // bytes of the zip
	SHA256   string // hex SHA-256 of the zip
	// CodeSha256 is the same digest in base64, the form Lambda reports as
	// CodeSha256, so a deployed function can be compared without downloading it.
	CodeSha256 string
	// Changed is true when the zip differs from the previous build recorded
	// in the build directory's manifest (or there was none).
	Changed bool
	// inputKey hashes the files the zip is made of (zipInputKey).
	inputKey string
}

// ArtifactPhase is a step of packaging one function.
type ArtifactPhase string

const (
	PhaseBuilding ArtifactPhase = "building" // compiling (Go) or collecting files
	PhaseDone     ArtifactPhase = "done"     // Artifact is set
	PhaseFailed   ArtifactPhase = "failed"   // Err is set
)

// Steps of PhaseBuilding, in ArtifactEvent.Step.
const (
	StepCompiling   = "compiling (go build)"
	StepDownloading = "downloading modules"
	StepCached      = "cached"
	StepCollecting  = "collecting files"
	StepZipping     = "zipping"
)

// ArtifactEvent reports progress of Package. Events for one function arrive
// in order; events are never delivered concurrently. A function's first
// event is PhaseBuilding with an empty Step; then PhaseBuilding events name
// each step (StepCompiling, StepDownloading, ...), repeated every
// ProgressEvery while a step lasts, so a display can show elapsed time; the
// last is PhaseDone or PhaseFailed.
type ArtifactEvent struct {
	Function string
	Phase    ArtifactPhase
	Step     string        // PhaseBuilding: what is being done
	Elapsed  time.Duration // since the function's packaging started
	Artifact Artifact      // PhaseDone
	Err      error         // PhaseFailed
}

// ProgressEvery is how often a long packaging step is reported again.
var ProgressEvery = 5 * time.Second

// PackageOptions tune Package.
type PackageOptions struct {
	// Functions to package; empty means all, in project order.
	Functions []string
	// Concurrency bounds the functions built at once; 0 means GOMAXPROCS.
	Concurrency int
	// Env is added to the environment of go build (after evcli's own
	// GOOS/GOARCH/CGO_ENABLED, so it can override them).
	Env []string
	// Progress, when set, receives an event as each function starts, as
	// each of its steps starts, and as it ends.
	Progress func(ArtifactEvent)
	// Now is the clock of ArtifactEvent.Elapsed (default time.Now).
	Now func() time.Time
}

// UnknownFunctionError is a --function name the project does not define.
type UnknownFunctionError struct {
	Name       string
	Suggestion string   // closest known name, if any is close
	Known      []string // every function of the project
}

func (e *UnknownFunctionError) Error() string {
	msg := fmt.Sprintf("unknown function %q", e.Name)
	if e.Suggestion != "" {
		msg += fmt.Sprintf(": did you mean %q?", e.Suggestion)
	}
	if len(e.Known) > 0 {
		msg += " (functions: " + strings.Join(e.Known, ", ") + ")"
	} else {
		msg += " (the project defines no functions)"
	}
	return msg
}

// BuildError is a function that could not be packaged because its build
// failed; Output holds the compiler's messages.
type BuildError struct {
	Function string
	Dir      string // source directory
	Output   string
	Err      error
}

func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "function %q: go build in %s failed: %v", e.Function, e.Dir, e.Err)
	out := strings.TrimRight(e.Output, "\n")
	if out != "" {
		for _, l := range strings.Split(out, "\n") {
			// go build names files relative to the function's directory
			// ("./main.go:4:2"); name them from the project's instead.
			if rest, ok := strings.CutPrefix(l, "./"); ok && e.Dir != "" {
				l = path.Join(filepath.ToSlash(e.Dir), rest)
			}
			b.WriteString("\n    " + l)
		}
	}
	if strings.Contains(out, "go.mod file not found") || strings.Contains(out, "cannot find main module") {
		b.WriteString("\n  a Go function needs a go.mod in its source directory or a parent: run \"go mod init\" at the project root (evcli init creates one)")
	}
	return b.String()
}

func (e *BuildError) Unwrap() error { return e.Err }

// Package builds and zips the project's functions (all, or o.Functions) into
// <p.Dir>/.evcli/build/<function>.zip, in parallel. It returns the artifacts
// of the functions that packaged, in project order, and an error joining
// every failure (each names its function).
func Package(ctx context.Context, p *project.Project, o PackageOptions) ([]Artifact, error) {
	fns, err := selectFunctions(p, o.Functions)
	if err != nil {
		return nil, err
	}
	outDir, err := filepath.Abs(filepath.Join(p.Dir, filepath.FromSlash(BuildDir)))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create build directory: %w", err)
	}
	limit := o.Concurrency
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	var progressMu sync.Mutex
	progress := func(ev ArtifactEvent) {
		if o.Progress != nil {
			progressMu.Lock()
			defer progressMu.Unlock()
			o.Progress(ev)
		}
	}

	// "Changed" compares with the build recorded before this one started.
	manifestMu.Lock()
	prev := readManifest(outDir)
	manifestMu.Unlock()

	results := make([]Artifact, len(fns))
	errs := make([]error, len(fns))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i, fn := range fns {
		g.Go(func() error {
			if gctx.Err() != nil {
				errs[i] = gctx.Err()
				return nil
			}
			start := now()
			progress(ArtifactEvent{Function: fn.Name, Phase: PhaseBuilding})
			st := newStepper(func(step string) {
				progress(ArtifactEvent{Function: fn.Name, Phase: PhaseBuilding, Step: step, Elapsed: now().Sub(start)})
			})
			a, err := packageOne(gctx, p, fn, outDir, o.Env, st.set, prev)
			st.stop()
			if err != nil {
				errs[i] = err
				progress(ArtifactEvent{Function: fn.Name, Phase: PhaseFailed, Err: err, Elapsed: now().Sub(start)})
				return nil // build the others: report every failure at once
			}
			a.Changed = prev.changed(a)
			results[i] = a
			progress(ArtifactEvent{Function: fn.Name, Phase: PhaseDone, Artifact: a, Elapsed: now().Sub(start)})
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Record this build, keeping the entries of functions not built now.
	var out []Artifact
	manifestMu.Lock()
	m := readManifest(outDir)
	for i := range fns {
		if errs[i] != nil {
			continue
		}
		a := results[i]
		m.Artifacts[a.Function] = manifestEntry{SHA256: a.SHA256, Size: a.Size, InputKey: a.inputKey}
		out = append(out, a)
	}
	if err := writeManifest(outDir, m); err != nil {
		errs = append(errs, fmt.Errorf("record the build in %s: %w", filepath.Join(outDir, ManifestFile), err))
	}
	manifestMu.Unlock()
	return out, errors.Join(errs...)
}

// PackageFunction builds and zips one function into outDir/<name>.zip and
// records it in outDir's manifest.
func PackageFunction(ctx context.Context, p *project.Project, fn *project.Function, outDir string) (Artifact, error) {
	outDir, err := filepath.Abs(outDir)
	if err != nil {
		return Artifact{}, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Artifact{}, fmt.Errorf("create build directory: %w", err)
	}
	manifestMu.Lock()
	prev := readManifest(outDir)
	manifestMu.Unlock()
	a, err := packageOne(ctx, p, fn, outDir, nil, func(string) {}, prev)
	if err != nil {
		return Artifact{}, err
	}
	manifestMu.Lock()
	defer manifestMu.Unlock()
	m := readManifest(outDir)
	a.Changed = m.changed(a)
	m.Artifacts[a.Function] = manifestEntry{SHA256: a.SHA256, Size: a.Size, InputKey: a.inputKey}
	return a, writeManifest(outDir, m)
}

func selectFunctions(p *project.Project, names []string) ([]*project.Function, error) {
	if len(names) == 0 {
		fns := make([]*project.Function, len(p.Functions))
		for i := range p.Functions {
			fns[i] = &p.Functions[i]
		}
		return fns, nil
	}
	var known []string
	for _, f := range p.Functions {
		known = append(known, f.Name)
	}
	var fns []*project.Function
	var errs []error
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if fn := p.Function(n); fn != nil {
			fns = append(fns, fn)
			continue
		}
		errs = append(errs, &UnknownFunctionError{Name: n, Suggestion: closest(n, known), Known: known})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Project order, whatever order the flags came in.
	slices.SortStableFunc(fns, func(a, b *project.Function) int {
		return slices.Index(known, a.Name) - slices.Index(known, b.Name)
	})
	return fns, nil
}

// packageOne builds fn and writes outDir/<name>.zip, or keeps the zip prev
// records when its inputs are the same (package_reuse.go); Changed is left
// false. step is told each step as it starts.
func packageOne(ctx context.Context, p *project.Project, fn *project.Function, outDir string, env []string, step func(string), prev *manifest) (Artifact, error) {
	if fn.Name == "" || strings.ContainsAny(fn.Name, `/\`) || fn.Name == "." || fn.Name == ".." {
		return Artifact{}, fmt.Errorf("function name %q cannot name a zip file: use letters, digits, '-' and '_'", fn.Name)
	}
	src := fn.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(p.Dir, filepath.FromSlash(src))
	}
	if st, err := os.Stat(src); err != nil {
		return Artifact{}, fmt.Errorf("function %q: source %s: %w", fn.Name, fn.Source, unwrapPathError(err))
	} else if !st.IsDir() {
		return Artifact{}, fmt.Errorf("function %q: source %s is not a directory: point source at the directory that holds the handler", fn.Name, fn.Source)
	}

	var entries []zipEntry
	zipCache := "" // where a Go bootstrap's zip is kept across projects
	switch kind := runtimeKind(fn.Runtime); kind {
	case kindCustom:
		hasGo, err := hasGoFiles(src)
		if err != nil {
			return Artifact{}, fmt.Errorf("function %q: %w", fn.Name, err)
		}
		if hasGo {
			tmp, err := os.MkdirTemp("", "evcli-build-")
			if err != nil {
				return Artifact{}, err
			}
			defer os.RemoveAll(tmp)
			bin, err := goBuild(ctx, fn, src, filepath.Join(tmp, "bootstrap"), env, step)
			if err != nil {
				return Artifact{}, err
			}
			st, err := os.Stat(bin)
			if err != nil {
				return Artifact{}, fmt.Errorf("function %q: go build wrote no executable: %s must be package main with a func main that calls lambda.Start", fn.Name, fn.Source)
			}
			entries = []zipEntry{{Name: "bootstrap", Path: bin, Mode: 0o755, Size: st.Size()}}
			zipCache = bootstrapCacheDir()
			break
		}
		// A prebuilt custom runtime: zip the directory; it must hold bootstrap.
		entries, err = collectSource(fn, src)
		if err != nil {
			return Artifact{}, err
		}
		if i := slices.IndexFunc(entries, func(e zipEntry) bool { return e.Name == "bootstrap" }); i < 0 || entries[i].Mode != 0o755 {
			return Artifact{}, fmt.Errorf("function %q: %s has no .go files and no executable bootstrap: runtime %s needs one of them", fn.Name, fn.Source, fn.Runtime)
		}
	case kindNode, kindPython:
		var err error
		step(StepCollecting)
		entries, err = collectSource(fn, src)
		if err != nil {
			return Artifact{}, err
		}
		if err := checkHandler(fn, kind, entries); err != nil {
			return Artifact{}, err
		}
	default:
		return Artifact{}, fmt.Errorf("function %q: cannot package runtime %q: use provided.al2023 (Go), nodejs20.x, nodejs22.x, python3.12 or python3.13", fn.Name, fn.Runtime)
	}

	dst := filepath.Join(outDir, fn.Name+".zip")
	key, err := zipInputKey(entries)
	if err != nil {
		return Artifact{}, fmt.Errorf("function %q: %w", fn.Name, err)
	}
	var last manifestEntry
	var hadLast bool
	if prev != nil {
		last, hadLast = prev.Artifacts[fn.Name]
	}
	size, sum, reused := reuseBuilt(dst, key, last, hadLast)
	if !reused {
		size, sum, reused = cachedZip(zipCache, key, dst)
	}
	if !reused {
		step(StepZipping)
		size, sum, err = writeZipFile(dst, entries)
		if err != nil {
			return Artifact{}, fmt.Errorf("function %q: %w", fn.Name, err)
		}
		storeZip(zipCache, key, dst, sum)
	}
	return Artifact{
		Function:   fn.Name,
		Path:       dst,
		Size:       size,
		SHA256:     hex.EncodeToString(sum),
		CodeSha256: base64.StdEncoding.EncodeToString(sum),
		inputKey:   key,
	}, nil
}

type runtimeFamily int

const (
	kindUnknown runtimeFamily = iota
	kindCustom
	kindNode
	kindPython
)

func runtimeKind(rt string) runtimeFamily {
	switch {
	case strings.HasPrefix(rt, "provided"):
		return kindCustom
	case strings.HasPrefix(rt, "nodejs"):
		return kindNode
	case strings.HasPrefix(rt, "python"):
		return kindPython
	}
	return kindUnknown
}

// GoArch maps a Lambda architecture to GOARCH ("" is x86_64).
func GoArch(arch string) (string, error) {
	switch arch {
	case "", "x86_64":
		return "amd64", nil
	case "arm64":
		return "arm64", nil
	}
	return "", fmt.Errorf("unknown architecture %q: use x86_64 or arm64", arch)
}

// GoBuildArgs are the arguments Package gives go build, with out as the
// executable to write.
func GoBuildArgs(out string) []string {
	return []string{"build", "-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid=", "-o", out, "."}
}

// goBuild builds the handler in src and returns the executable: out, or
// the linked bootstrap cached from an earlier build of the same inputs.
func goBuild(ctx context.Context, fn *project.Function, src, out string, extra []string, step func(string)) (string, error) {
	goarch, err := GoArch(fn.Architecture)
	if err != nil {
		return "", fmt.Errorf("function %q: %w", fn.Name, err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("function %q: the go command is needed to build %s functions and is not on PATH: install Go from https://go.dev/dl", fn.Name, fn.Runtime)
	}
	env := append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	env = append(env, extra...)
	// go list -export compiles what changed (the long part of a first
	// build), so compiling is announced before it; a module download shows
	// as "go: downloading" on either command's stderr.
	step(StepCompiling)
	compiled, err := goGate.enter(ctx, depSetKey(src, env), targetKey(env))
	if err != nil {
		return "", err
	}
	defer compiled()
	dl := &downloadWatcher{step: step}
	cacheDir, key := bootstrapCacheDir(), ""
	if cacheDir != "" {
		k, err := goBuildKey(ctx, goBin, src, env, dl)
		compiled() // the packages are in the cache now; linking runs in parallel
		if err == nil {
			key = k
			if p := cachedBootstrap(cacheDir, key); p != "" {
				step(StepCached)
				return p, nil
			}
		}
	}
	cmd := exec.CommandContext(ctx, goBin, GoBuildArgs(out)...)
	cmd.Dir = src
	cmd.Env = env
	var buf bytes.Buffer
	w := &lockedWriter{w: io.MultiWriter(&buf, dl)}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Run()
	output := buf.Bytes()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", &BuildError{Function: fn.Name, Dir: fn.Source, Output: string(output), Err: err}
	}
	if key != "" {
		storeBootstrap(cacheDir, key, out)
	}
	return out, nil
}

// hasGoFiles reports whether dir holds a non-test .go file.
func hasGoFiles(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			return true, nil
		}
	}
	return false, nil
}

// checkHandler makes sure the module a Node or Python handler names is in the zip.
func checkHandler(fn *project.Function, kind runtimeFamily, entries []zipEntry) error {
	dot := strings.LastIndex(fn.Handler, ".")
	if dot <= 0 || dot == len(fn.Handler)-1 {
		want := "index.handler"
		if kind == kindPython {
			want = "app.handler"
		}
		return fmt.Errorf("function %q: handler %q is not FILE.FUNCTION: write e.g. %q", fn.Name, fn.Handler, want)
	}
	mod := fn.Handler[:dot]
	var candidates []string
	if kind == kindNode {
		for _, ext := range []string{".js", ".mjs", ".cjs"} {
			candidates = append(candidates, mod+ext)
		}
	} else {
		mod = strings.ReplaceAll(mod, ".", "/")
		candidates = []string{mod + ".py", mod + "/__init__.py"}
	}
	for _, e := range entries {
		if slices.Contains(candidates, e.Name) {
			return nil
		}
	}
	return fmt.Errorf("function %q: handler %q needs %s in %s (and not excluded by %s)", fn.Name, fn.Handler, orList(candidates), fn.Source, IgnoreFile)
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// writeZipFile writes entries as a deterministic zip to dst (atomically) and
// returns its size and SHA-256.
func writeZipFile(dst string, entries []zipEntry) (int64, []byte, error) {
	zipsWritten.Add(1)
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return 0, nil, err
	}
	defer os.Remove(f.Name()) // after a successful rename this is a no-op error
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := WriteZip(cw, entries); err != nil {
		f.Close()
		return 0, nil, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return 0, nil, err
	}
	if err := f.Close(); err != nil {
		return 0, nil, err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return 0, nil, err
	}
	return cw.n, h.Sum(nil), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func closest(s string, known []string) string { return suggest.Closest(s, known) }
