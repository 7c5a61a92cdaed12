package main

import (
	"strings"
	"testing"
)

// runEnv is runWith without stdin.
func runEnv(t *testing.T, dir string, env []string, unset []string, args ...string) result {
	t.Helper()
	return runWith(t, dir, "", env, unset, args...)
}

// Secrets on local: a deploy with the same values plans nothing (so
// --detailed-exitcode exits 0), another value is a change named by key,
// no output ever holds a value (not with --debug), and the handler gets
// the deploy-time value whatever the shell that invokes it has.
func TestSecretsOnLocal(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "python")
	dir := writeProject(t, `project: secrets
functions:
  whoami:
    source: fns/whoami
    runtime: python3.12
    handler: app.handler
    timeout: 60 # a loaded machine must not turn this test into a timeout test
    environment: {PLAIN: plain-value}
    secrets: [API_KEY, DB_PASSWORD]
    events:
      - pattern: {source: [shop.orders]}
`, map[string]string{
		"fns/whoami/app.py": "import os\n\ndef handler(event, context):\n    return {k: os.environ.get(k, '<unset>') for k in ('API_KEY', 'DB_PASSWORD', 'PLAIN')}\n",
	})
	secrets := []string{"API_KEY", "DB_PASSWORD"}
	env := []string{"API_KEY=key-value-4242", "DB_PASSWORD=pw-value-1717"}
	noValue := func(what string, r result, values ...string) {
		t.Helper()
		for _, v := range values {
			if strings.Contains(r.stdout+r.stderr, v) {
				t.Errorf("%s printed the secret value %q:\n%s%s", what, v, r.stdout, r.stderr)
			}
		}
	}
	if r := runEnv(t, dir, nil, secrets, "deploy"); r.code == 0 || !strings.Contains(r.stderr, "API_KEY (function whoami)") {
		t.Fatalf("deploy without the secrets: exit %d\n%s", r.code, r.stderr)
	}
	r := runEnv(t, dir, env, nil, "deploy", "--debug")
	if r.code != 0 {
		t.Fatalf("deploy: exit %d\n%s", r.code, r.stderr)
	}
	noValue("deploy --debug", r, "key-value-4242", "pw-value-1717")
	r = runEnv(t, dir, env, nil, "deploy", "--dry-run", "--detailed-exitcode", "--debug", "-o", "json")
	if r.code != 0 {
		t.Errorf("dry run with the same secrets: exit %d, want 0 (nothing changed)\n%s%s", r.code, r.stdout, r.stderr)
	}
	noValue("deploy --dry-run", r, "key-value-4242", "pw-value-1717")
	changed := []string{"API_KEY=another-value-99", "DB_PASSWORD=pw-value-1717"}
	r = runEnv(t, dir, changed, nil, "deploy", "--dry-run", "--detailed-exitcode", "--debug")
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "~API_KEY") || strings.Contains(r.stdout+r.stderr, "DB_PASSWORD") {
		t.Errorf("dry run with API_KEY changed: exit %d, want 2 and a change of API_KEY only\n%s%s", r.code, r.stdout, r.stderr)
	}
	noValue("deploy --dry-run (changed)", r, "another-value-99", "key-value-4242", "pw-value-1717")

	// The handler gets what deploy read, from a shell that has other
	// values or none.
	for _, shell := range [][]string{nil, {"API_KEY=shell-value"}} {
		r = runEnv(t, dir, shell, secrets, "invoke", "whoami", "--debug")
		if r.code != 0 || !strings.Contains(r.stdout, `"key-value-4242"`) || !strings.Contains(r.stdout, `"pw-value-1717"`) {
			t.Errorf("invoke from a shell with %v: exit %d, want the deploy-time values\n%s%s", shell, r.code, r.stdout, r.stderr)
		}
	}
}
