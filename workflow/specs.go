package workflow

import (
	"fmt"

	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// Specs are the project's workflows as drivers deploy (and export) them:
// the rendered definition, type, correlation path, and one rule per
// event that starts the workflow, with the id "workflow-NAME-i".
func Specs(p *project.Project) []providers.WorkflowSpec {
	var out []providers.WorkflowSpec
	for _, w := range p.Workflows {
		ws := providers.WorkflowSpec{Name: w.Name, Type: w.Type, Definition: w.Definition, Correlation: w.Correlation}
		for i, ev := range w.Events {
			ws.Rules = append(ws.Rules, providers.RuleSpec{ID: fmt.Sprintf("workflow-%s-%d", w.Name, i), Bus: ev.Bus, Pattern: ev.Pattern})
		}
		out = append(out, ws)
	}
	return out
}
