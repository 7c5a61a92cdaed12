package local

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// Deployer installs functions and rules into the local store. After a
// change it tells the engine that runs them (in this process, or a running
// `evcli local serve`) to reload.
type Deployer struct {
	db     *store.DB
	dir    string
	now    func() time.Time
	reload func(ctx context.Context, fn string) error
}

// NewDeployer returns a Deployer over db whose unpacked code lives under
// dir/functions. reload (may be nil) is called after each change.
func NewDeployer(db *store.DB, dir string, reload func(ctx context.Context, fn string) error) *Deployer {
	return &Deployer{db: db, dir: dir, now: time.Now, reload: reload}
}

// Deployed implements providers.Deployer.
func (d *Deployer) Deployed(ctx context.Context) ([]providers.FunctionDeployment, error) {
	recs, err := d.db.Functions(ctx)
	if err != nil {
		return nil, err
	}
	rules, err := d.db.Rules(ctx)
	if err != nil {
		return nil, err
	}
	secrets, err := readSecrets(ctx, d.db)
	if err != nil {
		return nil, err
	}
	out := make([]providers.FunctionDeployment, 0, len(recs))
	for _, r := range recs {
		fd := providers.FunctionDeployment{
			Name: r.Name, Runtime: r.Runtime, Handler: r.Handler, Architecture: r.Architecture,
			MemoryMB: r.MemoryMB, TimeoutS: r.TimeoutS, Concurrency: r.Concurrency,
			Env: r.Env, CodeSha256: r.CodeSha256, Correlation: r.Correlation,
		}
		// Hashes, never values: the plan compares them (an empty map still
		// says "this driver hashes", so a secret without one is planned).
		sr := secrets[r.Name]
		fd.SecretNames, fd.SecretHashes = sr.Names, sr.Hashes
		if fd.SecretHashes == nil {
			fd.SecretHashes = map[string]string{}
		}
		for _, ru := range rules {
			if ru.Function == r.Name {
				fd.Rules = append(fd.Rules, providers.RuleSpec{ID: ru.ID, Bus: ru.Bus, Pattern: ru.Pattern})
			}
		}
		out = append(out, fd)
	}
	return out, nil
}

// ApplyFunction implements providers.Deployer: it unpacks the artifact (when
// it is not unpacked yet) into a directory named by its hash, then records the
// function and its rules. The values of fd.Env named by SecretNames are
// kept apart from the configuration, with their hashes (see secrets.go),
// for the runtime.
func (d *Deployer) ApplyFunction(ctx context.Context, fd providers.FunctionDeployment, _ bool, step func(string)) error {
	if step == nil {
		step = func(string) {}
	}
	// A rule the bus cannot compile is refused before anything is saved
	// (project.Load refuses it first; this guards other callers).
	for _, r := range fd.Rules {
		if _, err := filter.Parse(r.Pattern); err != nil {
			return &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name + " rule " + r.ID, Err: err}
		}
	}
	codeDir := d.codeDir(fd.Name, fd.CodeSha256)
	// The directory is named by the code's hash and renamed into place
	// whole, so an existing one already holds exactly this code.
	if _, err := os.Stat(codeDir); err != nil {
		step("unpack code")
		if err := unpack(fd.ArtifactPath, codeDir, fd.CodeSha256); err != nil {
			return &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name, Err: err}
		}
	}
	step("save configuration")
	env := map[string]string{}
	for k, v := range fd.Env {
		if !slices.Contains(fd.SecretNames, k) {
			env[k] = v
		}
	}
	rec := store.FunctionRecord{
		Name: fd.Name, Runtime: fd.Runtime, Handler: fd.Handler, Architecture: fd.Architecture,
		MemoryMB: fd.MemoryMB, TimeoutS: fd.TimeoutS, Concurrency: fd.Concurrency, Env: env,
		CodeSha256: fd.CodeSha256, ArtifactPath: fd.ArtifactPath, CodeDir: codeDir,
		DeployedAt: d.now(), Correlation: fd.Correlation,
	}
	if err := d.db.PutFunction(ctx, rec); err != nil {
		return err
	}
	if err := writeSecrets(ctx, d.db, fd.Name, fd.SecretNames, fd.Env); err != nil {
		return err
	}
	rules := make([]store.Rule, len(fd.Rules))
	for i, r := range fd.Rules {
		rules[i] = store.Rule{ID: r.ID, Bus: r.Bus, Function: fd.Name, Pattern: r.Pattern}
	}
	step("save rules")
	if err := d.db.SetRules(ctx, fd.Name, rules); err != nil {
		return err
	}
	if d.reload != nil {
		step("reload")
		return d.reload(ctx, fd.Name)
	}
	return nil
}

// DeleteFunction implements providers.Deployer.
func (d *Deployer) DeleteFunction(ctx context.Context, name string) error {
	if err := d.db.SetRules(ctx, name, nil); err != nil {
		return err
	}
	if err := d.db.DeleteFunction(ctx, name); err != nil {
		return err
	}
	_ = deleteSecrets(ctx, d.db, name)
	_ = os.RemoveAll(filepath.Join(d.dir, "functions", name))
	if d.reload != nil {
		return d.reload(ctx, name)
	}
	return nil
}

// HashSecrets implements providers.SecretHasher: the keyed hashes of
// values that Deployed reports for deployed secrets.
func (d *Deployer) HashSecrets(ctx context.Context, values map[string]string) (map[string]string, error) {
	return hashSecrets(ctx, d.db, values)
}

func (d *Deployer) codeDir(fn, codeSha256 string) string {
	sum, err := base64.StdEncoding.DecodeString(codeSha256)
	name := hex.EncodeToString(sum)
	if err != nil || len(name) < 16 {
		h := sha256.Sum256([]byte(codeSha256))
		name = hex.EncodeToString(h[:])
	}
	return filepath.Join(d.dir, "functions", fn, name[:16])
}

// unpack extracts the zip at src into dst (atomically: a temp dir renamed
// into place), checking that it is the artifact with codeSha256.
func unpack(src, dst, codeSha256 string) error {
	if src == "" {
		return fmt.Errorf("no artifact to unpack: run evcli package")
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if got := base64.StdEncoding.EncodeToString(sum[:]); codeSha256 != "" && got != codeSha256 {
		return fmt.Errorf("%s changed while deploying (sha256 %s, expected %s): deploy again", src, got, codeSha256)
	}
	zr, err := zip.NewReader(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, f := range zr.File {
		name := filepath.FromSlash(f.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%s: entry %q escapes the code directory", src, f.Name)
		}
		target := filepath.Join(tmp, name)
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		mode := f.Mode().Perm()
		if mode == 0 {
			mode = 0o644
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			rc.Close()
			return err
		}
		_, err = io.Copy(out, rc)
		rc.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	_ = os.RemoveAll(dst)
	return os.Rename(tmp, dst)
}

var (
	_ providers.Deployer     = (*Deployer)(nil)
	_ providers.SecretHasher = (*Deployer)(nil)
)
