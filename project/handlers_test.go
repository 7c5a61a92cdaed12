package project

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestHandlersEnvironment: handlers: gcp|azure gives every function the
// variables the cloud's host sets; a variable the file sets wins; aws (or
// no key) adds nothing; Marshal writes the key and loading its output
// gives the same project.
func TestHandlersEnvironment(t *testing.T) {
	tests := []struct {
		handlers string
		env      map[string]map[string]string // function -> environment
	}{
		{"", map[string]map[string]string{"gofn": nil, "nodefn": nil, "pyfn": {"KEEP": "1"}}},
		{"aws", map[string]map[string]string{"gofn": nil, "nodefn": nil, "pyfn": {"KEEP": "1"}}},
		{"gcp", map[string]map[string]string{
			"gofn":   {"FUNCTION_SIGNATURE_TYPE": "cloudevent", "FUNCTION_TARGET": "gofn"},
			"nodefn": {"FUNCTION_SIGNATURE_TYPE": "cloudevent", "FUNCTION_TARGET": "payment"},
			"pyfn":   {"FUNCTION_SIGNATURE_TYPE": "cloudevent", "FUNCTION_TARGET": "mine", "KEEP": "1"},
		}},
		{"azure", map[string]map[string]string{
			"gofn":   {"FUNCTIONS_WORKER_RUNTIME": "custom"},
			"nodefn": {"FUNCTIONS_WORKER_RUNTIME": "node"},
			"pyfn":   {"FUNCTIONS_WORKER_RUNTIME": "python", "KEEP": "1"},
		}},
	}
	for _, tt := range tests {
		t.Run("handlers="+tt.handlers, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{"go", "node", "py"} {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			line := ""
			if tt.handlers != "" {
				line = "handlers: " + tt.handlers + "\n"
			}
			file := filepath.Join(dir, "evcli.yaml")
			body := "project: shop\n" + line + `functions:
  gofn: {source: go, runtime: provided.al2023}
  nodefn: {source: node, runtime: nodejs20.x, handler: index.payment}
  pyfn:
    source: py
    runtime: python3.12
    handler: main.payment
    environment: {KEEP: "1", FUNCTION_TARGET: mine}
`
			if tt.handlers != "gcp" {
				body = strings.Replace(body, ", FUNCTION_TARGET: mine", "", 1)
			}
			if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := Load(file, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range p.Functions {
				if !reflect.DeepEqual(f.Environment, tt.env[f.Name]) {
					t.Errorf("%s environment = %v, want %v", f.Name, f.Environment, tt.env[f.Name])
				}
			}
			out, err := Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, out, 0o644); err != nil {
				t.Fatal(err)
			}
			again, err := Load(file, LoadOptions{})
			if err != nil {
				t.Fatalf("loading Marshal's output: %v\n%s", err, out)
			}
			if want := p.Handlers; want != "aws" && again.Handlers != want {
				t.Errorf("handlers after a round trip = %q, want %q", again.Handlers, want)
			}
			if !reflect.DeepEqual(again.Functions, p.Functions) {
				t.Errorf("functions after a round trip differ:\n%+v\n%+v", again.Functions, p.Functions)
			}
		})
	}
}

// TestHandlersBad: an unknown kind names the place and suggests the right one.
func TestHandlersBad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "evcli.yaml")
	if err := os.WriteFile(file, []byte("project: shop\nhandlers: gpc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file, LoadOptions{})
	var ds *Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("err = %v, want *Diagnostics", err)
	}
	msg := err.Error()
	for _, want := range []string{"evcli.yaml:2:11", "handlers", `"gpc"`, `"gcp"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}
