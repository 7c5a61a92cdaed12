package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	textsuggest "github.com/evcli/evcli/internal/suggest"
)

//go:embed all:files
var embedded embed.FS

// Names are the templates, in the order help lists them.
var Names = []string{"fan-out", "event-sourcing", "saga", "saga-orchestrated"}

// Langs are the handler languages every template comes in.
var Langs = []string{"go", "node", "python"}

// Summaries describe each template in one line.
var Summaries = map[string]string{
	"fan-out":           "one OrderCreated event, four functions: inventory, payment, notification, analytics",
	"event-sourcing":    "a command handler that records order events and publishes the outcome, plus a projection",
	"saga":              "payment -> inventory -> shipment, with compensations (release stock, refund) when a step fails",
	"saga-orchestrated": "the same saga as a state machine (Amazon States Language) calling six functions, compensations in its Catch paths",
}

// Providers are the clouds the handlers can be written for (init
// --provider): Lambda handlers (aws, the default), Cloud Functions
// CloudEvent functions (gcp), Azure Functions with an Event Grid trigger
// (azure). The project's evcli.yaml says which (handlers:), and the local
// provider runs every kind.
var Providers = []string{"aws", "gcp", "azure"}

// providerTemplates lists the templates, and their languages, each non-AWS
// provider has so far.
var providerTemplates = map[string]map[string][]string{
	"gcp":   {"fan-out": Langs, "event-sourcing": Langs, "saga": Langs},
	"azure": {"fan-out": Langs},
}

// handlerModules are the file (module) that holds a Node.js or Python
// function, per provider: Lambda's index.js / app.py, Cloud Functions'
// index.js / main.py, Azure's index.js / function_app.py.
var handlerModules = map[string]map[string]string{
	"aws":   {"node": "index", "python": "app"},
	"gcp":   {"node": "index", "python": "main"},
	"azure": {"node": "index", "python": "function_app"},
}

// runtimes are the runtime and handler each language's functions get.
var runtimes = map[string][2]string{
	"go":     {"provided.al2023", "bootstrap"},
	"node":   {"nodejs20.x", "index.handler"},
	"python": {"python3.12", "app.handler"},
}

// Data is what template files (*.tmpl) are rendered with.
type Data struct {
	Name     string // project name
	Module   string // Go module path (the project name)
	Template string
	Lang     string
	Runtime  string // runtime of every function
	Handler  string // handler of every function
	Bus      string // event bus name
	// Provider is the cloud the handlers are written for (aws, gcp, azure);
	// Module is the file of a Node.js or Python function (index, main,
	// function_app): its handler is Module.<function name> on gcp and azure.
	Provider      string
	HandlerModule string
}

// File is one file of a rendered project.
type File struct {
	Path string // slash-separated, relative to the project directory
	Mode fs.FileMode
	Data []byte
}

var reName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// ValidateName checks a project name: it becomes the evcli.yaml project,
// the bus name prefix, the event sources and (Go) the module path.
func ValidateName(name string) error {
	if !reName.MatchString(name) {
		return fmt.Errorf("%q is not a valid project name: use lower-case letters, digits and '-', starting with a letter, at most 63 characters, e.g. shop", name)
	}
	return nil
}

// Titles name each provider's kind of function, for messages.
var Titles = map[string]string{"aws": "Lambda", "gcp": "Cloud Functions", "azure": "Azure Functions"}

// HandlersFor returns the handlers kind (one of Providers) that evcli
// init --provider P writes for template tmpl: the provider's own, Lambda
// handlers for local (the local provider runs every kind; Lambda's is the
// default). It refuses an unknown provider, and a template that does not
// come for that provider yet.
func HandlersFor(tmpl, lang, provider string) (string, error) {
	switch provider {
	case "", "local":
		provider = "aws"
	}
	if !slices.Contains(Providers, provider) {
		known := append([]string{"local"}, Providers...)
		return "", fmt.Errorf("unknown provider %q%s: use %s", provider, suggest(provider, known), strings.Join(known, ", "))
	}
	if err := CheckProvider(tmpl, lang, provider); err != nil {
		return "", err
	}
	return provider, nil
}

// CheckProvider validates a provider name and that tmpl comes for it in lang.
func CheckProvider(tmpl, lang, provider string) error {
	if !slices.Contains(Providers, provider) {
		return fmt.Errorf("unknown provider %q%s: use %s", provider, suggest(provider, Providers), strings.Join(Providers, ", "))
	}
	have, ok := providerTemplates[provider]
	if !ok {
		return nil // aws: every template, every language
	}
	if langs := have[tmpl]; !slices.Contains(langs, lang) {
		var with []string
		for _, t := range Names {
			if slices.Contains(have[t], lang) {
				with = append(with, t)
			}
		}
		return fmt.Errorf("the %s template has no %s %s handlers yet: use --template %s, or --provider aws", tmpl, langNames[lang], provider, strings.Join(with, " or "))
	}
	return nil
}

var langNames = map[string]string{"go": "Go", "node": "Node.js", "python": "Python"}

// Check validates a template and language name, suggesting the right one.
func Check(tmpl, lang string) error {
	if !slices.Contains(Names, tmpl) {
		return fmt.Errorf("unknown template %q%s: use %s", tmpl, suggest(tmpl, Names), strings.Join(Names, ", "))
	}
	if !slices.Contains(Langs, lang) {
		return fmt.Errorf("unknown language %q%s: use %s", lang, suggest(lang, Langs), strings.Join(Langs, ", "))
	}
	return nil
}

func suggest(s string, known []string) string {
	s = strings.ToLower(s)
	if s == "" {
		return ""
	}
	for _, k := range known {
		if strings.HasPrefix(k, s) || strings.HasPrefix(s, k) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	best, bestD := "", 3
	for _, k := range known {
		if d := textsuggest.Distance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && (bestD <= 1 || len(s) >= 5) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// Files renders template tmpl in language lang for a project called name
// and returns its files sorted by path. Layers, later ones winning:
// files/_all, files/_lang/<lang>, files/<tmpl>/common, files/<tmpl>/<lang>.
// A file whose name ends in .tmpl is rendered with text/template (Data) and
// loses the suffix; other files are copied as they are.
func Files(tmpl, lang, name string) ([]File, error) { return FilesFor(tmpl, lang, "aws", name) }

// FilesFor is Files with the handlers written for provider (see
// Providers). For gcp and azure the layers are files/_all,
// files/_<provider>/_lang/<lang>, files/<tmpl>/common (the sample events),
// files/_<provider>/<tmpl>/common and files/_<provider>/<tmpl>/<lang>.
func FilesFor(tmpl, lang, provider, name string) ([]File, error) {
	if err := Check(tmpl, lang); err != nil {
		return nil, err
	}
	if err := CheckProvider(tmpl, lang, provider); err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	rt := runtimes[lang]
	data := Data{Name: name, Module: name, Template: tmpl, Lang: lang, Runtime: rt[0], Handler: rt[1], Bus: name + "-bus",
		Provider: provider, HandlerModule: handlerModules[provider][lang]}
	layers := []string{"files/_all", "files/_lang/" + lang, "files/" + tmpl + "/common", "files/" + tmpl + "/" + lang}
	if provider != "aws" {
		pre := "files/_" + provider + "/"
		layers = []string{"files/_all", pre + "_lang/" + lang, "files/" + tmpl + "/common", pre + tmpl + "/common", pre + tmpl + "/" + lang}
	}
	byPath := map[string]File{}
	for _, layer := range layers {
		err := fs.WalkDir(embedded, layer, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == layer {
					return fs.SkipDir // a layer a template does not have
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			raw, err := embedded.ReadFile(p)
			if err != nil {
				return err
			}
			rel := strings.TrimPrefix(p, layer+"/")
			if strings.HasSuffix(rel, ".tmpl") {
				rel = strings.TrimSuffix(rel, ".tmpl")
				t, err := template.New(p).Funcs(funcs).Option("missingkey=error").Parse(string(raw))
				if err != nil {
					return fmt.Errorf("template %s: %w", p, err)
				}
				var b bytes.Buffer
				if err := t.Execute(&b, data); err != nil {
					return fmt.Errorf("template %s: %w", p, err)
				}
				raw = b.Bytes()
			}
			byPath[rel] = File{Path: rel, Mode: 0o644, Data: raw}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// files/_lang/<lang>/_function/* goes into every function directory.
	fnDirs := map[string]bool{}
	for p := range byPath {
		if parts := strings.SplitN(p, "/", 3); len(parts) == 3 && parts[0] == "functions" {
			fnDirs["functions/"+parts[1]] = true
		}
	}
	perFunction := map[string]File{}
	for p, f := range byPath {
		if rest, ok := strings.CutPrefix(p, "_function/"); ok {
			perFunction[rest] = f
			delete(byPath, p)
		}
	}
	for dir := range fnDirs {
		for rest, f := range perFunction {
			p := dir + "/" + rest
			if _, ok := byPath[p]; !ok {
				f.Path = p
				byPath[p] = f
			}
		}
	}
	files := make([]File, 0, len(byPath))
	for _, f := range byPath {
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

var funcs = template.FuncMap{
	"list": func(s ...string) []string { return s },
}

// NotEmptyError is returned by Render when the target directory holds files.
type NotEmptyError struct {
	Dir   string
	Entry string // one of the entries found
}

func (e *NotEmptyError) Error() string {
	return fmt.Sprintf("%s is not empty (it holds %s): evcli init never overwrites files; choose a new name or empty the directory", e.Dir, e.Entry)
}

// Render writes the project into dir, which must not exist or be empty.
// It returns the files written. On failure it removes what it wrote.
func Render(tmpl, lang, name, dir string) ([]File, error) {
	return RenderFor(tmpl, lang, "aws", name, dir)
}

// RenderFor is Render with the handlers written for provider.
func RenderFor(tmpl, lang, provider, name, dir string) ([]File, error) {
	files, err := FilesFor(tmpl, lang, provider, name)
	if err != nil {
		return nil, err
	}
	created := false
	switch ents, err := os.ReadDir(dir); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		created = true
	case err != nil:
		return nil, err
	case len(ents) > 0:
		return nil, &NotEmptyError{Dir: dir, Entry: ents[0].Name()}
	}
	if err := write(dir, files); err != nil {
		if created {
			os.RemoveAll(dir)
		} else {
			cleanup(dir)
		}
		return nil, err
	}
	return files, nil
}

func write(dir string, files []File) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.Mode)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.Data); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// cleanup empties dir (which was empty before Render).
func cleanup(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// Events lists the sample events of a rendered project (paths under
// events/), the shortest name (the plain, happy-path event) first.
func Events(files []File) []string {
	var out []string
	for _, f := range files {
		if path.Dir(f.Path) == "events" && strings.HasSuffix(f.Path, ".json") {
			out = append(out, f.Path)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(a) - len(b) })
	return out
}

// WorkflowRuns are the commands that run the template's workflow on its
// sample inputs (inputs/*.json), shortest path first.
func WorkflowRuns(files []File) []string {
	var out []string
	for _, f := range files {
		if path.Dir(f.Path) == "inputs" && strings.HasSuffix(f.Path, ".json") {
			out = append(out, f.Path)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(a) - len(b) })
	for i, p := range out {
		out[i] = "evcli workflow run order --input @" + p
	}
	return out
}

// Dependencies lists the function directories that declare packages to
// install before running locally: dirs with a package.json (npm install)
// or a requirements.txt (pip install -r).
func Dependencies(files []File) (npm, pip []string) {
	for _, f := range files {
		switch path.Base(f.Path) {
		case "package.json":
			npm = append(npm, path.Dir(f.Path))
		case "requirements.txt":
			pip = append(pip, path.Dir(f.Path))
		}
	}
	return npm, pip
}
