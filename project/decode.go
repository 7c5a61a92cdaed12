package project

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/evcli/evcli/filter"
)

// decoder walks the yaml.v3 node tree of a project file against the schema,
// collecting every problem as a Diagnostic with its position.
type decoder struct {
	file   string   // as given, for messages
	lines  []string // the file's lines, to place errors inside scalars
	dir    string   // directory function sources are relative to
	diags  []Diagnostic
	budget int  // nodes left to visit; bounds alias expansion
	over   bool // the budget ran out (reported once)
}

// maxNodes bounds the nodes one file may expand to through aliases.
const maxNodes = 200_000

// entry is one key: value pair of a mapping.
type entry struct {
	name     string
	key, val *yaml.Node
}

func (d *decoder) add(n *yaml.Node, path, msg, hint string) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Col: col, Path: path, Msg: msg, Hint: hint})
}

// spend takes one node from the budget; false when it has run out.
func (d *decoder) spend(n *yaml.Node) bool {
	d.budget--
	if d.budget >= 0 {
		return true
	}
	if !d.over {
		d.over = true
		d.add(n, "", "the file expands to too many values (more than 200000)",
			"check anchors and aliases (&name, *name): one of them is probably repeated many times")
	}
	return false
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 1000; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node holds, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", v)
	case "!!int", "!!float":
		return "the number " + v
	case "!!bool":
		return "the boolean " + v
	case "!!null":
		return "nothing"
	case "!!timestamp":
		return "the date " + v
	case "!!binary":
		return "binary data"
	}
	return fmt.Sprintf("a value tagged %s", n.Tag)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// entries returns the pairs of mapping n in file order, with merge keys
// (<<: *anchor) expanded. Duplicate keys are reported with both positions;
// a null node is an empty mapping; anything else is reported as the wrong
// type. at is the node to blame when n is not a mapping.
func (d *decoder) entries(n *yaml.Node, path, what string) []entry {
	if isNull(n) {
		return nil
	}
	m := deref(n)
	if m.Kind != yaml.MappingNode {
		d.add(n, path, fmt.Sprintf("expected %s, got %s", what, describe(n)), mappingHints[what])
		return nil
	}
	var merged, own []entry
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !d.spend(k) {
			return nil
		}
		kd := deref(k)
		if kd != nil && kd.Kind == yaml.ScalarNode && kd.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(v, path, what)...)
			continue
		}
		if kd == nil || kd.Kind != yaml.ScalarNode {
			d.add(k, path, "a key must be a plain name, not "+describe(k), "")
			continue
		}
		own = append(own, entry{name: kd.Value, key: k, val: v})
	}
	seen := make(map[string]entry, len(own))
	out := make([]entry, 0, len(own)+len(merged))
	for _, e := range own {
		if first, dup := seen[e.name]; dup {
			d.add(e.key, join(path, e.name), fmt.Sprintf("%q is defined twice: first at line %d, col %d, again here",
				e.name, first.key.Line, first.key.Column), "remove or rename one of them")
			continue
		}
		seen[e.name] = e
		out = append(out, e)
	}
	// Merged keys come after the mapping's own keys and never override them;
	// among merged mappings the first one wins (YAML's merge-key rule).
	for _, e := range merged {
		if _, ok := seen[e.name]; ok {
			continue
		}
		seen[e.name] = e
		out = append(out, e)
	}
	return out
}

// mappingHints show the right shape when a mapping is expected.
var mappingHints = map[string]string{
	"a mapping of variable names to values":    "write each variable as NAME: value, e.g. environment: {LOG_LEVEL: info}",
	"a mapping (source:, runtime:, ...)":       "write a function as its settings, e.g. inventory: {source: functions/inventory, runtime: provided.al2023}",
	"a mapping of function names to functions": "write functions as name: settings, e.g.\nfunctions:\n  inventory:\n    source: functions/inventory\n    runtime: provided.al2023",
	"a mapping (bus:, pattern:)":               "write a trigger as - pattern: {source: [shop.orders]}",
}

// merge returns the entries a merge key's value brings in.
func (d *decoder) merge(v *yaml.Node, path, what string) []entry {
	vd := deref(v)
	if vd == nil {
		return nil
	}
	switch vd.Kind {
	case yaml.MappingNode:
		return d.entries(vd, path, what)
	case yaml.SequenceNode:
		var out []entry
		for _, item := range vd.Content {
			if !d.spend(item) {
				return out
			}
			if deref(item) == nil || deref(item).Kind != yaml.MappingNode {
				d.add(item, path, "a merge key (<<) takes a mapping or a list of mappings, not "+describe(item), "")
				continue
			}
			out = append(out, d.entries(item, path, what)...)
		}
		return out
	}
	d.add(v, path, "a merge key (<<) takes a mapping or a list of mappings, not "+describe(v), "")
	return nil
}

// fields is entries restricted to the known keys: an unknown key is
// reported with the closest known one.
func (d *decoder) fields(n *yaml.Node, path, what string, known []string) map[string]entry {
	out := map[string]entry{}
	for _, e := range d.entries(n, path, what) {
		if path == "" && strings.HasPrefix(e.name, "x-") {
			continue // extension keys, a home for anchors (as in Compose files)
		}
		ok := false
		for _, k := range known {
			if e.name == k {
				ok = true
				break
			}
		}
		if !ok {
			d.add(e.key, join(path, e.name), fmt.Sprintf("unknown key %q", e.name), unknownKeyHint(e.name, path, known))
			continue
		}
		out[e.name] = e
	}
	return out
}

func unknownKeyHint(name, path string, known []string) string {
	where := "at the top level"
	if path != "" {
		where = "in " + path
	}
	if s := suggest(name, known); s != "" {
		return fmt.Sprintf("did you mean %q? the keys %s are %s", s, where, strings.Join(known, ", "))
	}
	return fmt.Sprintf("the keys %s are %s", where, strings.Join(known, ", "))
}

// str reads a string. A number or boolean is refused with a hint to quote
// it, so "version: 1.10" never silently becomes 1.1.
func (d *decoder) str(e entry, path string) (string, bool) {
	n := deref(e.val)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		hint := ""
		if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
			if e.name == "" {
				hint = fmt.Sprintf(`quote it to make it a string: "%s"`, n.Value)
			} else {
				hint = fmt.Sprintf(`quote it to make it a string: %s: "%s"`, e.name, n.Value)
			}
		}
		d.add(e.val, path, "expected a string, got "+describe(e.val), hint)
		return "", false
	}
	return n.Value, true
}

var reSizeWithUnit = lazyRegexp(`^(?i)\s*([0-9]+(?:\.[0-9]+)?)\s*(mb|mib|m|gb|gib|g)\s*$`)

// integer reads a whole number in [lo, hi]; rangeHint explains the range.
func (d *decoder) integer(e entry, path string, lo, hi int, rangeHint string) (int, bool) {
	n := deref(e.val)
	if n == nil || n.Kind != yaml.ScalarNode {
		d.add(e.val, path, "expected a number, got "+describe(e.val), rangeHint)
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil || i < int64(lo) || i > int64(hi) {
			d.add(e.val, path, n.Value+" is out of range", rangeHint)
			return 0, false
		}
		return int(i), true
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil && f == math.Trunc(f) && f >= float64(lo) && f <= float64(hi) {
			d.add(e.val, path, n.Value+" is not a whole number", fmt.Sprintf("write it as %d", int64(f)))
		} else {
			d.add(e.val, path, n.Value+" is not a whole number", rangeHint)
		}
		return 0, false
	case "!!str":
		if e.name == "memory" {
			if m := reSizeWithUnit().FindStringSubmatch(n.Value); m != nil {
				f, _ := strconv.ParseFloat(m[1], 64)
				if u := strings.ToLower(m[2]); u[0] == 'g' {
					f *= 1024
				}
				d.add(e.val, path, "expected a number of MB, got "+describe(e.val),
					fmt.Sprintf("memory is in MB without a unit: memory: %d", int64(f)))
				return 0, false
			}
		}
		if _, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil {
			d.add(e.val, path, "expected a number, got "+describe(e.val),
				fmt.Sprintf("remove the quotes: %s: %s", e.name, strings.TrimSpace(n.Value)))
			return 0, false
		}
	}
	d.add(e.val, path, "expected a number, got "+describe(e.val), rangeHint)
	return 0, false
}

// price reads a positive number.
func (d *decoder) price(e entry, path string) (float64, bool) {
	n := deref(e.val)
	if n == nil || n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		d.add(e.val, path, "expected a number, got "+describe(e.val), "a price in US dollars, e.g. 0.0000166667")
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1000 {
		d.add(e.val, path, n.Value+" is not a valid price", "a positive amount in US dollars; leave the key out to use the built-in price")
		return 0, false
	}
	return f, true
}

// enum reads one of options, suggesting the closest for a misspelling.
func (d *decoder) enum(e entry, path, what string, options []string) (string, bool) {
	s, ok := d.str(e, path)
	if !ok {
		return "", false
	}
	if msg, hint := checkEnum(s, what, options); msg != "" {
		d.add(e.val, path, msg, hint)
		return "", false
	}
	return s, true
}

// checkEnum returns a message and hint when s is not one of options.
func checkEnum(s, what string, options []string) (msg, hint string) {
	for _, o := range options {
		if s == o {
			return "", ""
		}
	}
	msg = fmt.Sprintf("unknown %s %q", what, s)
	list := fmt.Sprintf("%ss are %s", what, quoteList(options))
	if alt, ok := knownAliases[s]; ok {
		return msg, fmt.Sprintf("%s; %s", alt, list)
	}
	if sug := suggest(s, options); sug != "" {
		return msg, fmt.Sprintf("did you mean %q? %s", sug, list)
	}
	return msg, list
}

// knownAliases explain the usual near-misses that edit distance cannot.
var knownAliases = map[string]string{
	"amd64":        `use "x86_64"`,
	"x86-64":       `use "x86_64"`,
	"x64":          `use "x86_64"`,
	"aarch64":      `use "arm64"`,
	"arm":          `use "arm64"`,
	"go":           `Go functions use "provided.al2023" with a bootstrap binary`,
	"go1.x":        `Go functions use "provided.al2023" with a bootstrap binary (go1.x is retired)`,
	"provided":     `use "provided.al2023"`,
	"provided.al2": `use "provided.al2023"`,
	"node":         `use "nodejs22.x" or "nodejs20.x"`,
	"nodejs":       `use "nodejs22.x" or "nodejs20.x"`,
	"python":       `use "python3.13" or "python3.12"`,
	"python3":      `use "python3.13" or "python3.12"`,
	"google":       `use "gcp"`,
	"gcloud":       `use "gcp"`,
	"amazon":       `use "aws"`,
	"microsoft":    `use "azure"`,
	"dynamo":       `use "dynamodb"`,
	"cosmosdb":     `use "cosmos"`,
	"sqlite":       `the local provider's SQLite store is "local"`,
}

// checkSetting validates an overridable setting (from the file, a flag or
// EVCLI_*) and returns a message and hint when it is wrong.
func checkSetting(key, value string) (msg, hint string) {
	switch key {
	case "project":
		if !reProjectName().MatchString(value) {
			return fmt.Sprintf("%q is not a valid project name", value),
				"use lower-case letters, digits and '-', starting with a letter, at most 63 characters, e.g. shop"
		}
	case "provider":
		return checkEnum(value, "provider", Providers)
	case "region":
		if !reRegion().MatchString(value) {
			return fmt.Sprintf("%q is not a valid region", value), "a region is written like us-east-1 (AWS), europe-west1 (Google Cloud) or westeurope (Azure)"
		}
	case "bus":
		if !reBusName().MatchString(value) {
			return fmt.Sprintf("%q is not a valid event bus name", value), "use letters, digits and . - _ /, at most 256 characters"
		}
	case "gcp.project":
		if !reGCPProject().MatchString(value) {
			return fmt.Sprintf("%q is not a Google Cloud project id", value),
				"a project id is 6 to 30 lower-case letters, digits and '-', starting with a letter (gcloud projects list shows them), e.g. shop-prod-4821"
		}
	case "gcp.guard":
		return checkEnum(value, "guard mode", GuardModes)
	case "azure.subscription":
		if !reAzureSubscription().MatchString(value) {
			return fmt.Sprintf("%q is not an Azure subscription id", value),
				"a subscription id is a GUID such as 0b1f6471-1bf0-4dda-aec3-cb9272f09590 (az account show --query id -o tsv prints the current one)"
		}
	case "azure.resourceGroup":
		if !reAzureResourceGroup().MatchString(value) {
			return fmt.Sprintf("%q is not an Azure resource group name", value),
				"a resource group name is 1 to 90 letters, digits and _ - . ( ), not ending in '.' (az group list -o table shows them), e.g. shop-prod"
		}
	case "azure.location":
		if !reRegion().MatchString(value) {
			return fmt.Sprintf("%q is not an Azure location", value),
				"a location is written like westeurope or eastus2 (az account list-locations -o table shows them)"
		}
	case "store.type":
		return checkEnum(value, "store type", StoreTypes)
	case "store.table":
		if !reTableName().MatchString(value) {
			return fmt.Sprintf("%q is not a valid table name", value), "use 3 to 255 letters, digits and . - _"
		}
	}
	return "", ""
}

// setting reads an overridable string setting (or another value with the
// same rules, such as an event's bus) at path and validates it as key.
func (d *decoder) setting(e entry, key, path string) (string, bool) {
	s, ok := d.str(e, path)
	if !ok {
		return "", false
	}
	if msg, hint := checkSetting(key, s); msg != "" {
		d.add(e.val, path, msg, hint)
		return "", false
	}
	return s, true
}

// fileSettings are the overridable settings as the file gives them ("" =
// absent or invalid), with where they stand.
type fileSettings struct {
	values map[string]string
	root   *yaml.Node // the top mapping, to blame for missing keys
}

// overridable lists the settings that flags and EVCLI_* variables may set.
var overridable = []string{"project", "provider", "region", "bus", "store.type", "store.table", "gcp.project", "gcp.guard",
	"azure.subscription", "azure.resourceGroup", "azure.location"}

// decodeFile decodes everything but the overridable settings' final values
// into p, and returns the settings as the file gives them.
func (d *decoder) decodeFile(root *yaml.Node, p *Project) fileSettings {
	out := fileSettings{values: map[string]string{}, root: root}
	top := d.fields(root, "", "a mapping of keys (project:, functions:, ...)", topKeys)
	for _, k := range []string{"project", "provider", "region", "bus"} {
		if e, ok := top[k]; ok && !isNull(e.val) {
			if v, ok := d.setting(e, k, k); ok {
				out.values[k] = v
			}
		}
	}
	if e, ok := top["handlers"]; ok && !isNull(e.val) {
		p.Handlers, _ = d.enum(e, "handlers", "handlers kind", HandlerKinds)
	}
	if e, ok := top["gcp"]; ok && !isNull(e.val) {
		g := d.fields(e.val, "gcp", "a mapping (project:, guard:)", gcpKeys)
		for _, k := range gcpKeys {
			if e, ok := g[k]; ok && !isNull(e.val) {
				if v, ok := d.setting(e, "gcp."+k, "gcp."+k); ok {
					out.values["gcp."+k] = v
				}
			}
		}
	}
	if e, ok := top["azure"]; ok && !isNull(e.val) {
		a := d.fields(e.val, "azure", "a mapping (subscription:, resourceGroup:, location:)", azureKeys)
		for _, k := range azureKeys {
			if e, ok := a[k]; ok && !isNull(e.val) {
				if v, ok := d.setting(e, "azure."+k, "azure."+k); ok {
					out.values["azure."+k] = v
				}
			}
		}
	}
	if e, ok := top["store"]; ok {
		st := d.fields(e.val, "store", "a mapping (type:, table:, keys:, ttlDays:)", storeKeys)
		for _, k := range []string{"type", "table"} {
			if e, ok := st[k]; ok && !isNull(e.val) {
				if v, ok := d.setting(e, "store."+k, "store."+k); ok {
					out.values["store."+k] = v
				}
			}
		}
		if e, ok := st["keys"]; ok {
			d.storeKeys(&e, &p.Store.Keys)
		} else {
			d.storeKeys(nil, &p.Store.Keys)
		}
		if e, ok := st["ttlDays"]; ok && !isNull(e.val) {
			p.Store.TTLDays, _ = d.integer(e, "store.ttlDays", 0, MaxTTLDays,
				fmt.Sprintf("ttlDays is how many days events are kept, from 0 (for ever) to %d", MaxTTLDays))
		}
	}
	if _, ok := top["store"]; !ok {
		d.storeKeys(nil, &p.Store.Keys)
	}
	if e, ok := top["prices"]; ok && !isNull(e.val) {
		pr := d.fields(e.val, "prices", "a mapping (gbSecondX86:, gbSecondArm:, perMillionRequests:)", pricesKeys)
		var t PriceTable
		if e, ok := pr["gbSecondX86"]; ok {
			t.GBSecondX86, _ = d.price(e, "prices.gbSecondX86")
		}
		if e, ok := pr["gbSecondArm"]; ok {
			t.GBSecondArm, _ = d.price(e, "prices.gbSecondArm")
		}
		if e, ok := pr["perMillionRequests"]; ok {
			t.PerMillionReq, _ = d.price(e, "prices.perMillionRequests")
		}
		if t != (PriceTable{}) {
			p.Prices = &t
		}
	}
	if e, ok := top["functions"]; ok {
		d.functions(e, p)
	}
	if e, ok := top["workflows"]; ok {
		d.workflows(e, p)
	}
	return out
}

// storeKeys reads store.keys (e may be nil), fills in the default
// attribute names and checks that no two keys share an attribute.
func (d *decoder) storeKeys(e *entry, k *StoreKeys) {
	var ks map[string]entry
	if e != nil {
		ks = d.fields(e.val, "store.keys", "a mapping of attribute names (aggregate:, sort:, ...)", keysKeys)
	}
	dst := map[string]*string{
		"aggregate": &k.Aggregate, "sort": &k.Sort, "id": &k.ID, "type": &k.Type,
		"data": &k.Data, "version": &k.Version, "ttl": &k.TTL,
	}
	def := map[string]string{
		"aggregate": DefaultStoreKeys.Aggregate, "sort": DefaultStoreKeys.Sort, "id": DefaultStoreKeys.ID,
		"type": DefaultStoreKeys.Type, "data": DefaultStoreKeys.Data, "version": DefaultStoreKeys.Version,
		"ttl": DefaultStoreKeys.TTL,
	}
	given := map[string]*yaml.Node{}
	for _, name := range keysKeys {
		*dst[name] = def[name]
		f, ok := ks[name]
		if !ok || isNull(f.val) {
			continue
		}
		path := "store.keys." + name
		s, ok := d.str(f, path)
		if !ok {
			continue
		}
		if !reAttrName().MatchString(s) {
			d.add(f.val, path, fmt.Sprintf("%q is not a valid attribute name", s), "start with a letter or '_'; then letters, digits, '_', '-' or '.'")
			continue
		}
		*dst[name] = s
		given[name] = f.val
	}
	used := map[string]string{} // attribute -> the key that has it
	for _, name := range keysKeys {
		attr := *dst[name]
		other, dup := used[attr]
		if !dup {
			used[attr] = name
			continue
		}
		blame, path := given[name], "store.keys."+name
		if blame == nil {
			blame, path = given[other], "store.keys."+other
			other = name
		}
		d.add(blame, path, fmt.Sprintf("attribute %q is also store.keys.%s", attr, other), "each key needs an attribute of its own")
	}
}

func (d *decoder) functions(e entry, p *Project) {
	for _, fe := range d.entries(e.val, "functions", "a mapping of function names to functions") {
		path := "functions." + fe.name
		if !reFunctionName().MatchString(fe.name) {
			d.add(fe.key, path, fmt.Sprintf("%q is not a valid function name", fe.name),
				"use 1 to 64 letters, digits, '-' or '_'")
		}
		f := Function{Name: fe.name}
		d.function(fe, path, &f)
		p.Functions = append(p.Functions, f)
	}
}

func (d *decoder) function(fe entry, path string, f *Function) {
	if isNull(fe.val) {
		d.add(fe.key, path, "the function has no settings", "give it at least source: and runtime:")
		return
	}
	m := d.fields(fe.val, path, "a mapping (source:, runtime:, ...)", functionKeys)
	if deref(fe.val).Kind != yaml.MappingNode {
		return
	}
	if e, ok := m["source"]; ok && !isNull(e.val) {
		if s, ok := d.str(e, path+".source"); ok {
			d.checkSource(e, path+".source", s)
			f.Source = filepath.Clean(s)
		}
	} else {
		d.add(fe.key, path+".source", "missing", "source: is the function's directory, relative to "+d.dirName())
	}
	if e, ok := m["runtime"]; ok && !isNull(e.val) {
		f.Runtime, _ = d.enum(e, path+".runtime", "runtime", Runtimes)
	} else {
		d.add(fe.key, path+".runtime", "missing", "runtimes are "+quoteList(Runtimes))
	}
	if e, ok := m["handler"]; ok && !isNull(e.val) {
		if s, ok := d.str(e, path+".handler"); ok {
			f.Handler = s
			d.checkHandler(e.val, path+".handler", f.Runtime, s)
		}
	} else {
		switch RuntimeFamily(f.Runtime) {
		case "provided":
			f.Handler = DefaultHandlerGo
		case "nodejs":
			d.add(fe.key, path+".handler", "missing (required for "+f.Runtime+")", "a Node.js handler is file.export, e.g. handler: index.handler")
		case "python":
			d.add(fe.key, path+".handler", "missing (required for "+f.Runtime+")", "a Python handler is module.function, e.g. handler: app.handler")
		}
	}
	f.Architecture = "x86_64"
	if e, ok := m["architecture"]; ok && !isNull(e.val) {
		f.Architecture, _ = d.enum(e, path+".architecture", "architecture", Architectures)
	}
	f.MemoryMB = DefaultMemoryMB
	if e, ok := m["memory"]; ok && !isNull(e.val) {
		f.MemoryMB, _ = d.integer(e, path+".memory", MinMemoryMB, MaxMemoryMB,
			fmt.Sprintf("memory is in MB, from %d to %d", MinMemoryMB, MaxMemoryMB))
	}
	f.TimeoutS = DefaultTimeoutS
	if e, ok := m["timeout"]; ok && !isNull(e.val) {
		f.TimeoutS, _ = d.integer(e, path+".timeout", MinTimeoutS, MaxTimeoutS,
			fmt.Sprintf("timeout is in seconds, from %d to %d", MinTimeoutS, MaxTimeoutS))
	}
	// Not set: 0, no reservation. A cloud reserves nothing (a reservation
	// is taken from the account's quota and caps the function); the local
	// runtime runs at most DefaultConcurrency instances.
	if e, ok := m["concurrency"]; ok && !isNull(e.val) {
		f.Concurrency, _ = d.integer(e, path+".concurrency", MinConcurrency, MaxConcurrency,
			fmt.Sprintf("concurrency is the number of instances reserved for the function, from %d to %d", MinConcurrency, MaxConcurrency))
	}
	if e, ok := m["environment"]; ok {
		f.Environment = d.environment(e, path+".environment")
	}
	if e, ok := m["secrets"]; ok {
		f.Secrets = d.secrets(e, path+".secrets", f.Environment)
	}
	if e, ok := m["correlation"]; ok && !isNull(e.val) {
		if s, ok := d.str(e, path+".correlation"); ok {
			if !reJSONPath().MatchString(s) {
				d.add(e.val, path+".correlation", fmt.Sprintf("%q is not a JSON path", s),
					"write it as $ followed by .field or [index] steps, e.g. $.detail.correlationId")
			} else {
				f.Correlation = s
			}
		}
	}
	if e, ok := m["role"]; ok && !isNull(e.val) {
		if s, ok := d.str(e, path+".role"); ok {
			if !reRoleARN().MatchString(s) {
				d.add(e.val, path+".role", fmt.Sprintf("%q is not an IAM role ARN", s),
					"a role ARN looks like arn:aws:iam::123456789012:role/NAME")
			} else {
				f.Role = s
			}
		}
	}
	if e, ok := m["events"]; ok && !isNull(e.val) {
		f.Events = d.events(e, path+".events")
	}
}

func (d *decoder) dirName() string {
	if d.dir == "" || d.dir == "." {
		return "the directory of " + filepath.Base(d.file)
	}
	return d.dir
}

func (d *decoder) checkSource(e entry, path, s string) {
	full := s
	if !filepath.IsAbs(full) {
		full = filepath.Join(d.dir, s)
	}
	st, err := os.Stat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.add(e.val, path, fmt.Sprintf("directory %q does not exist", s), "source is the function's directory, relative to "+d.dirName())
	case err != nil:
		d.add(e.val, path, fmt.Sprintf("cannot read %q: %v", s, errors.Unwrap(err)), "")
	case !st.IsDir():
		d.add(e.val, path, fmt.Sprintf("%q is a file, not a directory", s), "source is the function's directory; the handler names the file in it")
	}
}

func (d *decoder) checkHandler(n *yaml.Node, path, runtime, s string) {
	switch RuntimeFamily(runtime) {
	case "nodejs":
		if !reNodeHandler().MatchString(s) {
			d.add(n, path, fmt.Sprintf("%q is not a Node.js handler", s), "write it as file.export, e.g. index.handler for the export handler of index.js or index.mjs")
		}
	case "python":
		if !rePyHandler().MatchString(s) {
			d.add(n, path, fmt.Sprintf("%q is not a Python handler", s), "write it as module.function, e.g. app.handler for def handler in app.py")
		}
	case "provided":
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, "\x00\n") {
			d.add(n, path, "the handler is empty", `leave it out for the default "bootstrap"`)
		}
	}
}

func (d *decoder) environment(e entry, path string) map[string]string {
	es := d.entries(e.val, path, "a mapping of variable names to values")
	if len(es) == 0 {
		return nil
	}
	env := make(map[string]string, len(es))
	size := 0
	for _, v := range es {
		p := path + "." + v.name
		switch {
		case !reEnvName().MatchString(v.name):
			d.add(v.key, p, fmt.Sprintf("%q is not a valid variable name", v.name), "start with a letter or '_', then letters, digits or '_'")
			continue
		case reservedEnv[v.name]:
			d.add(v.key, p, fmt.Sprintf("%s is reserved: Lambda sets it itself", v.name), "choose another name")
			continue
		}
		n := deref(v.val)
		if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			hint := ""
			if n != nil && n.Kind == yaml.ScalarNode {
				if n.ShortTag() == "!!null" {
					hint = fmt.Sprintf(`environment values are strings; for an empty one write %s: ""`, v.name)
				} else {
					hint = fmt.Sprintf(`environment values are strings; quote it: %s: "%s"`, v.name, n.Value)
				}
			}
			d.add(v.val, p, "expected a string, got "+describe(v.val), hint)
			continue
		}
		env[v.name] = n.Value
		size += len(v.name) + len(n.Value)
	}
	if size > maxEnvironmentBytes {
		d.add(e.key, path, fmt.Sprintf("the variables take %d bytes; Lambda allows %d in total", size, maxEnvironmentBytes),
			"move large values to a file in the function's source or to a parameter store")
	}
	if len(env) == 0 {
		return nil
	}
	return env
}

func (d *decoder) secrets(e entry, path string, env map[string]string) []string {
	n := deref(e.val)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.add(e.val, path, "expected a list of variable names, got "+describe(e.val), "e.g. secrets: [API_KEY, DB_PASSWORD]")
		return nil
	}
	var out []string
	seen := map[string]*yaml.Node{}
	for i, item := range n.Content {
		if !d.spend(item) {
			return out
		}
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := d.str(entry{name: "- ", val: item}, p)
		if !ok {
			continue
		}
		switch {
		case !reEnvName().MatchString(s):
			d.add(item, p, fmt.Sprintf("%q is not a valid variable name", s), "start with a letter or '_', then letters, digits or '_'")
		case reservedEnv[s]:
			d.add(item, p, fmt.Sprintf("%s is reserved: Lambda sets it itself", s), "choose another name")
		case seen[s] != nil:
			d.add(item, p, fmt.Sprintf("%s is listed twice: first at line %d, col %d", s, seen[s].Line, seen[s].Column), "remove one of them")
		default:
			if _, clash := env[s]; clash {
				d.add(item, p, fmt.Sprintf("%s is also set in environment", s),
					"a secret's value comes from your environment at deploy time; remove it from environment")
				continue
			}
			seen[s] = item
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) events(e entry, path string) []EventSource {
	n := deref(e.val)
	if n.Kind != yaml.SequenceNode {
		d.add(e.val, path, "expected a list of triggers, got "+describe(e.val),
			"write each trigger as a list item:\nevents:\n  - pattern: {source: [shop.orders]}")
		return nil
	}
	var out []EventSource
	for i, item := range n.Content {
		if !d.spend(item) {
			return out
		}
		p := fmt.Sprintf("%s[%d]", path, i)
		m := d.fields(item, p, "a mapping (bus:, pattern:)", eventKeys)
		if isNull(item) || deref(item).Kind != yaml.MappingNode {
			if isNull(item) {
				d.add(item, p, "the trigger is empty", "give it a pattern:, e.g. - pattern: {source: [shop.orders]}")
			}
			continue
		}
		es := EventSource{}
		if b, ok := m["bus"]; ok && !isNull(b.val) {
			es.Bus, _ = d.setting(b, "bus", p+".bus")
		}
		pe, ok := m["pattern"]
		if !ok || isNull(pe.val) {
			d.add(item, p+".pattern", "missing", "a pattern is a JSON object (or a YAML mapping) such as {source: [shop.orders], detail-type: [OrderCreated]}")
			continue
		}
		es.Pos = Pos{Line: pe.val.Line, Col: pe.val.Column}
		if raw, ok := d.pattern(pe, p+".pattern"); ok {
			es.Pattern = raw
			es.Members = d.patternMembers(pe.val)
			out = append(out, es)
		}
	}
	return out
}

const patternHint = `a pattern is a JSON object, e.g. {"source": ["shop.orders"], "detail-type": ["OrderCreated"]}, or the same as a YAML mapping`

// pattern converts a pattern (a YAML mapping, or a string of JSON) to
// compact JSON and checks that it is a non-empty object.
func (d *decoder) pattern(e entry, path string) (json.RawMessage, bool) {
	n := deref(e.val)
	var buf bytes.Buffer
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str":
		src := []byte(n.Value)
		var probe json.RawMessage
		if err := json.Unmarshal(src, &probe); err != nil {
			var se *json.SyntaxError
			if !errors.As(err, &se) {
				d.add(e.val, path, "the pattern is not valid JSON: "+err.Error(), patternHint)
				return nil, false
			}
			l, c := offsetToLineCol(src, int(se.Offset)-1)
			if fl, fc, ok := d.inScalar(n, l, c); ok {
				d.diags = append(d.diags, Diagnostic{File: d.file, Line: fl, Col: fc, Path: path,
					Msg: "the pattern is not valid JSON: " + se.Error(), Hint: patternHint})
			} else {
				d.add(e.val, path, fmt.Sprintf("the pattern is not valid JSON: %v (line %d, col %d of the pattern)", se, l, c), patternHint)
			}
			return nil, false
		}
		if err := json.Compact(&buf, src); err != nil {
			d.add(e.val, path, "the pattern is not valid JSON: "+err.Error(), patternHint)
			return nil, false
		}
	case n.Kind == yaml.MappingNode:
		before := len(d.diags)
		d.toJSON(n, path, &buf)
		if len(d.diags) > before {
			return nil, false
		}
	default:
		d.add(e.val, path, "expected a JSON object, got "+describe(e.val), patternHint)
		return nil, false
	}
	out := buf.Bytes()
	switch {
	case len(out) == 0 || out[0] != '{':
		what := "a JSON value"
		if len(out) > 0 {
			switch out[0] {
			case '[':
				what = "a JSON array"
			case '"':
				what = "a JSON string"
			}
		}
		d.add(e.val, path, "expected a JSON object, got "+what, patternHint)
		return nil, false
	case string(out) == "{}":
		d.add(e.val, path, "the pattern is empty", "EventBridge refuses an empty pattern; match at least one field, e.g. {source: [shop.orders]}")
		return nil, false
	}
	// The pattern engine's own check, at the place and in the words of
	// `evcli filter test --rule`: a rule the bus cannot compile must never
	// reach a deploy.
	if _, err := filter.Parse(out); err != nil {
		d.add(e.val, path, err.Error(), "")
		return nil, false
	}
	return json.RawMessage(out), true
}

// toJSON writes node n as compact JSON, keeping the key order of mappings.
func (d *decoder) toJSON(n *yaml.Node, path string, buf *bytes.Buffer) {
	if !d.spend(n) {
		return
	}
	orig := n
	n = deref(n)
	if n == nil {
		d.add(orig, path, "an alias refers to itself", "")
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i, e := range d.entries(n, path, "a mapping") {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, e.name)
			buf.WriteByte(':')
			d.toJSON(e.val, join(path, e.name), buf)
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			d.toJSON(item, fmt.Sprintf("%s[%d]", path, i), buf)
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			buf.WriteString("null")
		case "!!bool":
			var b bool
			_ = n.Decode(&b)
			buf.WriteString(strconv.FormatBool(b))
		case "!!int":
			var i int64
			var u uint64
			if err := n.Decode(&i); err == nil {
				buf.WriteString(strconv.FormatInt(i, 10))
			} else if err := n.Decode(&u); err == nil {
				buf.WriteString(strconv.FormatUint(u, 10))
			} else {
				d.add(orig, path, n.Value+" cannot be written in JSON", `quote it to match the string: "`+n.Value+`"`)
			}
		case "!!float":
			var f float64
			if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				b, _ := json.Marshal(f)
				buf.Write(b)
			} else {
				d.add(orig, path, n.Value+" cannot be written in JSON", `quote it to match the string: "`+n.Value+`"`)
			}
		default:
			writeJSONString(buf, n.Value)
		}
	default:
		d.add(orig, path, "unexpected "+describe(orig), "")
	}
}

func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

// offsetToLineCol converts a byte offset in src to a 1-based line and
// column (in characters).
func offsetToLineCol(src []byte, off int) (int, int) {
	off = min(max(off, 0), len(src))
	line, col := 1, 1
	for _, r := range string(src[:off]) {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// inScalar maps line l, column c of string scalar n's value to a position
// in the file, for literal block scalars (|) and for one-line scalars
// written without escapes.
func (d *decoder) inScalar(n *yaml.Node, l, c int) (line, col int, ok bool) {
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		first := n.Line + 1
		if first+l-1 > len(d.lines) {
			return 0, 0, false
		}
		indent := -1
		for i := first; i <= len(d.lines); i++ {
			t := d.lines[i-1]
			if strings.TrimSpace(t) != "" {
				indent = len(t) - len(strings.TrimLeft(t, " "))
				break
			}
		}
		if indent < 0 {
			return 0, 0, false
		}
		return first + l - 1, indent + c, true
	case l == 1 && !strings.Contains(n.Value, "\n") && n.Line >= 1 && n.Line <= len(d.lines):
		q := 0
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			q = 1
		}
		raw := []rune(d.lines[n.Line-1])
		start := n.Column - 1 + q
		if start < 0 || start > len(raw) || !strings.HasPrefix(string(raw[start:]), n.Value) {
			return 0, 0, false
		}
		return n.Line, start + c, true
	}
	return 0, 0, false
}
