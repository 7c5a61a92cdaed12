package project

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Marshal renders p as an evcli.yaml document with every key written out,
// defaults included, and each pattern as a string of JSON. Loading the
// result (from p.Dir, with no overrides) gives p again.
func Marshal(p *Project) ([]byte, error) {
	top := mapping(
		"project", str(p.Name),
		"provider", str(p.Provider),
		"region", str(p.Region),
		"bus", str(p.Bus),
		"store", mapping(
			"type", str(p.Store.Type),
			"table", str(p.Store.Table),
			"keys", flow(mapping(
				"aggregate", str(p.Store.Keys.Aggregate),
				"sort", str(p.Store.Keys.Sort),
				"id", str(p.Store.Keys.ID),
				"type", str(p.Store.Keys.Type),
				"data", str(p.Store.Keys.Data),
				"version", str(p.Store.Keys.Version),
				"ttl", str(p.Store.Keys.TTL),
			)),
			"ttlDays", integer(p.Store.TTLDays),
		),
	)
	if p.Region == "" {
		top.Content = slices.Delete(top.Content, 4, 6)
	}
	if p.Handlers != "" && p.Handlers != "aws" {
		top.Content = append(top.Content, str("handlers"), str(p.Handlers))
	}
	if p.GCP != (GCP{}) {
		g := mapping()
		if p.GCP.Project != "" {
			g.Content = append(g.Content, str("project"), str(p.GCP.Project))
		}
		if p.GCP.Guard != "" {
			g.Content = append(g.Content, str("guard"), str(p.GCP.Guard))
		}
		top.Content = append(top.Content, str("gcp"), g)
	}
	if p.Azure != (Azure{}) {
		a := mapping()
		for _, kv := range [][2]string{{"subscription", p.Azure.Subscription}, {"resourceGroup", p.Azure.ResourceGroup}, {"location", p.Azure.Location}} {
			if kv[1] != "" {
				a.Content = append(a.Content, str(kv[0]), str(kv[1]))
			}
		}
		top.Content = append(top.Content, str("azure"), a)
	}
	if t := p.Prices; t != nil {
		pr := mapping()
		for _, kv := range []struct {
			k string
			v float64
		}{{"gbSecondX86", t.GBSecondX86}, {"gbSecondArm", t.GBSecondArm}, {"perMillionRequests", t.PerMillionReq}} {
			if kv.v != 0 {
				pr.Content = append(pr.Content, str(kv.k), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float",
					Value: strconv.FormatFloat(kv.v, 'g', -1, 64)})
			}
		}
		top.Content = append(top.Content, str("prices"), flow(pr))
	}
	fns := mapping()
	for _, f := range p.Functions {
		fn := mapping(
			"source", str(f.Source),
			"runtime", str(f.Runtime),
			"handler", str(f.Handler),
			"architecture", str(f.Architecture),
			"memory", integer(f.MemoryMB),
			"timeout", integer(f.TimeoutS),
		)
		if f.Concurrency > 0 {
			fn.Content = append(fn.Content, str("concurrency"), integer(f.Concurrency))
		}
		if len(f.Environment) > 0 {
			env := mapping()
			keys := make([]string, 0, len(f.Environment))
			for k := range f.Environment {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				env.Content = append(env.Content, str(k), str(f.Environment[k]))
			}
			fn.Content = append(fn.Content, str("environment"), env)
		}
		if len(f.Secrets) > 0 {
			seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, s := range f.Secrets {
				seq.Content = append(seq.Content, str(s))
			}
			fn.Content = append(fn.Content, str("secrets"), seq)
		}
		if f.Correlation != "" {
			fn.Content = append(fn.Content, str("correlation"), str(f.Correlation))
		}
		if f.Role != "" {
			fn.Content = append(fn.Content, str("role"), str(f.Role))
		}
		if len(f.Events) > 0 {
			seq := &yaml.Node{Kind: yaml.SequenceNode}
			for _, e := range f.Events {
				seq.Content = append(seq.Content, mapping("bus", str(e.Bus), "pattern", str(string(e.Pattern))))
			}
			fn.Content = append(fn.Content, str("events"), seq)
		}
		fns.Content = append(fns.Content, str(f.Name), fn)
	}
	top.Content = append(top.Content, str("functions"), fns)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{top}}); err != nil {
		return nil, fmt.Errorf("project: marshal: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("project: marshal: %w", err)
	}
	return buf.Bytes(), nil
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

// mapping builds a mapping node from alternating keys and value nodes.
func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}

func flow(n *yaml.Node) *yaml.Node {
	n.Style = yaml.FlowStyle
	return n
}
