package export

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"gopkg.in/yaml.v3"

	"github.com/evcli/evcli/providers"
)

// Difference is one place where a committed template and evcli.yaml's
// export differ.
type Difference struct {
	// Path names the place: Resources.InventoryFunction.Properties.MemorySize,
	// or resource.aws_lambda_function.inventory.memory_size.
	Path string `json:"path"`
	// Have is the committed template's value, Want the export's; "" where
	// one side lacks the path.
	Have string `json:"have,omitempty"`
	Want string `json:"want,omitempty"`
}

func (d Difference) String() string {
	switch {
	case d.Have == "":
		return fmt.Sprintf("+ %s: %s (missing from the template)", d.Path, d.Want)
	case d.Want == "":
		return fmt.Sprintf("- %s: %s (not in evcli.yaml)", d.Path, d.Have)
	}
	return fmt.Sprintf("~ %s: %s -> %s", d.Path, d.Have, d.Want)
}

// FormatOf says which format a committed template is in: terraform for
// .tf, sam for YAML with the SAM transform, else cloudformation.
func FormatOf(name string, b []byte) string {
	if strings.EqualFold(filepath.Ext(name), ".tf") {
		return providers.FormatTerraform
	}
	if bytes.Contains(b, []byte("AWS::Serverless-2016-10-31")) {
		return providers.FormatSAM
	}
	return providers.FormatCloudFormation
}

// Check compares the committed template have (read from name) with the
// template of ex and returns the differences, in document order.
func Check(ex *providers.Export, name string, have []byte) ([]Difference, error) {
	want := Template(ex).Data
	if ex.Format == providers.FormatTerraform {
		return diffHCL(name, have, want)
	}
	return diffYAML(name, have, want)
}

// ---- YAML ----

func diffYAML(name string, have, want []byte) ([]Difference, error) {
	var h, w yaml.Node
	if err := yaml.Unmarshal(have, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := yaml.Unmarshal(want, &w); err != nil {
		return nil, fmt.Errorf("the export: %w", err)
	}
	var out []Difference
	diffNode("", docRoot(&h), docRoot(&w), &out)
	return out, nil
}

func docRoot(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// show is a node on one line: a scalar with its tag when it is an
// intrinsic function (!Ref X), anything else as flow YAML.
func show(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind == yaml.ScalarNode {
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			return n.Tag + " " + n.Value
		}
		return n.Value
	}
	c := *n
	c.Style = yaml.FlowStyle
	setFlow(&c)
	b, err := yaml.Marshal(&c)
	if err != nil {
		return "?"
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

func setFlow(n *yaml.Node) {
	for i, c := range n.Content {
		cc := *c
		cc.Style |= yaml.FlowStyle
		n.Content[i] = &cc
		setFlow(&cc)
	}
}

func sameScalar(a, b *yaml.Node) bool {
	return a.Value == b.Value && a.ShortTag() == b.ShortTag()
}

func diffNode(path string, h, w *yaml.Node, out *[]Difference) {
	switch {
	case h.Kind != w.Kind:
		*out = append(*out, Difference{Path: path, Have: show(h), Want: show(w)})
	case h.Kind == yaml.MappingNode:
		hk := map[string]*yaml.Node{}
		for i := 0; i+1 < len(h.Content); i += 2 {
			hk[h.Content[i].Value] = h.Content[i+1]
		}
		wk := map[string]bool{}
		for i := 0; i+1 < len(w.Content); i += 2 {
			k, wv := w.Content[i].Value, w.Content[i+1]
			wk[k] = true
			if hv, ok := hk[k]; ok {
				diffNode(join(path, k), hv, wv, out)
			} else {
				*out = append(*out, Difference{Path: join(path, k), Want: show(wv)})
			}
		}
		for i := 0; i+1 < len(h.Content); i += 2 {
			if k := h.Content[i].Value; !wk[k] {
				*out = append(*out, Difference{Path: join(path, k), Have: show(h.Content[i+1])})
			}
		}
	case h.Kind == yaml.SequenceNode:
		for i := range max(len(h.Content), len(w.Content)) {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(h.Content):
				*out = append(*out, Difference{Path: p, Want: show(w.Content[i])})
			case i >= len(w.Content):
				*out = append(*out, Difference{Path: p, Have: show(h.Content[i])})
			default:
				diffNode(p, h.Content[i], w.Content[i], out)
			}
		}
	case h.Kind == yaml.ScalarNode:
		if !sameScalar(h, w) {
			*out = append(*out, Difference{Path: path, Have: show(h), Want: show(w)})
		}
	}
}

// ---- HCL ----

// hclItem is an attribute of a Terraform configuration at its path, with
// its expression's source, whitespace normalized.
type hclItem struct {
	Path, Expr string
}

func diffHCL(name string, have, want []byte) ([]Difference, error) {
	h, err := hclItems(name, have)
	if err != nil {
		return nil, err
	}
	w, err := hclItems("the export", want)
	if err != nil {
		return nil, err
	}
	hm := map[string]string{}
	for _, it := range h {
		hm[it.Path] = it.Expr
	}
	var out []Difference
	wm := map[string]bool{}
	for _, it := range w {
		wm[it.Path] = true
		hv, ok := hm[it.Path]
		switch {
		case !ok:
			out = append(out, Difference{Path: it.Path, Want: it.Expr})
		case hv != it.Expr:
			out = append(out, Difference{Path: it.Path, Have: hv, Want: it.Expr})
		}
	}
	for _, it := range h {
		if !wm[it.Path] {
			out = append(out, Difference{Path: it.Path, Have: it.Expr})
		}
	}
	return out, nil
}

// hclItems lists the attributes of a configuration by path: a block is
// its type and labels (resource.aws_lambda_function.inventory), a nested
// block its type and index (attribute[1]). An empty
// block is an item of its own, so adding or removing one is a difference.
func hclItems(name string, src []byte) ([]hclItem, error) {
	src = hclwrite.Format(src)
	f, diags := hclsyntax.ParseConfig(src, name, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return nil, diags
	}
	var out []hclItem
	var walk func(path string, b *hclsyntax.Body)
	walk = func(path string, b *hclsyntax.Body) {
		names := make([]string, 0, len(b.Attributes))
		for n := range b.Attributes {
			names = append(names, n)
		}
		slices.SortFunc(names, func(x, y string) int {
			return b.Attributes[x].SrcRange.Start.Byte - b.Attributes[y].SrcRange.Start.Byte
		})
		for _, n := range names {
			a := b.Attributes[n]
			r := a.Expr.Range()
			out = append(out, hclItem{Path: join(path, n), Expr: strings.Join(strings.Fields(string(r.SliceBytes(src))), " ")})
		}
		count := map[string]int{}
		for _, blk := range b.Blocks {
			count[strings.Join(append([]string{blk.Type}, blk.Labels...), ".")]++
		}
		seen := map[string]int{}
		for _, blk := range b.Blocks {
			key := strings.Join(append([]string{blk.Type}, blk.Labels...), ".")
			p := join(path, key)
			if count[key] > 1 || (path != "" && len(blk.Labels) == 0) {
				// Nested blocks (attribute, ttl, environment) by index, so
				// adding or removing one names the others alike on both sides.
				p = fmt.Sprintf("%s[%d]", p, seen[key])
			}
			seen[key]++
			if len(blk.Body.Attributes) == 0 && len(blk.Body.Blocks) == 0 {
				out = append(out, hclItem{Path: p, Expr: "{}"})
			}
			walk(p, blk.Body)
		}
	}
	walk("", f.Body.(*hclsyntax.Body))
	return out, nil
}
