package awstest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RunNode runs a Node.js function of the fake with the node on this
// machine, as Lambda would run one invocation: the code and configuration of
// the version target names (a function name or ARN, qualified by a version
// or an alias, e.g. a rule target's ARN), its environment variables plus
// AWS_REGION and AWS_LAMBDA_FUNCTION_NAME, and env (credentials, endpoint
// overrides, NODE_PATH for the modules Lambda's runtime brings such as the
// AWS SDK). It returns the handler's result as JSON, or a *FunctionError
// when the handler threw.
//
// The fake does not run functions by itself; tests call RunNode, e.g. from
// a DeliverFunc, to see what a deployed function does with an event.
func (s *Server) RunNode(ctx context.Context, target string, event []byte, env ...string) ([]byte, error) {
	name, qual := target, ""
	if strings.HasPrefix(target, "arn:") {
		parts := strings.Split(target, ":")
		if len(parts) < 7 || parts[5] != "function" {
			return nil, fmt.Errorf("awstest: %q is not a function ARN", target)
		}
		name = parts[6]
		if len(parts) > 7 {
			qual = parts[7]
		}
	} else {
		name, qual, _ = strings.Cut(target, ":")
	}
	s.mu.Lock()
	f := s.functions[name]
	if f == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("awstest: function %s does not exist", name)
	}
	c, apiErr := lambdaService{s}.version(f, qual)
	if apiErr != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("awstest: %s", apiErr.Message)
	}
	code := f.code
	if c != &f.latest {
		code = f.codes[c.Version]
	}
	cfg := *c
	region := s.region
	s.mu.Unlock()

	if !strings.HasPrefix(cfg.Runtime, "nodejs") {
		return nil, fmt.Errorf("awstest: %s runs %s; RunNode runs Node.js functions only", name, cfg.Runtime)
	}
	dir, err := os.MkdirTemp("", "awstest-node-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := unzipTo(code, dir); err != nil {
		return nil, fmt.Errorf("awstest: the code of %s: %w", name, err)
	}
	module, export, ok := strings.Cut(cfg.Handler, ".")
	if !ok {
		return nil, fmt.Errorf("awstest: handler %q is not FILE.EXPORT", cfg.Handler)
	}
	const script = `const path = require("path");
const [dir, module, exp, fn] = process.argv.slice(1);
let input = ""; process.stdin.on("data", c => input += c).on("end", async () => {
  try {
    const h = require(path.join(dir, module))[exp];
    const r = await h(JSON.parse(input), {functionName: fn, awsRequestId: "awstest"});
    process.stdout.write(JSON.stringify(r === undefined ? null : r));
  } catch (e) {
    process.stderr.write(JSON.stringify({errorType: (e && e.name) || "Error", errorMessage: String(e && e.message || e)}));
    process.exit(1);
  }
});`
	cmd := exec.CommandContext(ctx, "node", "-e", script, dir, module, export, name)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_REGION=" + region, "AWS_DEFAULT_REGION=" + region,
		"AWS_LAMBDA_FUNCTION_NAME=" + name, "AWS_LAMBDA_FUNCTION_VERSION=" + cfg.Version, "LAMBDA_TASK_ROOT=" + dir}
	if cfg.Environment != nil {
		for k, v := range cfg.Environment.Variables {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = bytes.NewReader(event)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var fe struct{ ErrorType, ErrorMessage string }
		if json.Unmarshal(lastLine(stderr.Bytes()), &fe) == nil && fe.ErrorType != "" {
			return nil, &FunctionError{Type: fe.ErrorType, Message: fe.ErrorMessage}
		}
		return nil, fmt.Errorf("awstest: node: %v: %s", err, stderr.String())
	}
	return stdout.Bytes(), nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// unzipTo writes a function's zip into dir.
func unzipTo(code []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(code), int64(len(code)))
	if err != nil {
		return err
	}
	for _, zf := range zr.File {
		p := filepath.Join(dir, filepath.FromSlash(zf.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return fmt.Errorf("%s: outside the function's directory", zf.Name)
		}
		if zf.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		r, err := zf.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
