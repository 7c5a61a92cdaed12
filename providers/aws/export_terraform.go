package aws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/evcli/evcli/providers"
)

// TFTemplateFile is the Terraform configuration's file name in the output
// directory; the zips go under artifacts/.
const TFTemplateFile = "main.tf"

// tfPlaceholders map the template placeholders of the desired state to
// Terraform's data sources.
var tfPlaceholders = strings.NewReplacer(
	"$"+phPartition, "${data.aws_partition.current.partition}",
	"$"+phAccount, "${data.aws_caller_identity.current.account_id}",
	"$${path.module}", "${path.module}",
)

// tfString is s as an HCL string, its placeholders interpolated.
func tfString(s string) hclwrite.Tokens {
	toks := hclwrite.TokensForValue(cty.StringVal(s))
	for _, t := range toks {
		// TokensForValue escapes ${ as $${; the placeholders are meant.
		t.Bytes = []byte(tfPlaceholders.Replace(string(t.Bytes)))
	}
	return toks
}

// tfRef is a reference such as aws_iam_role.inventory.arn.
func tfRef(parts ...string) hclwrite.Tokens {
	tr := hcl.Traversal{hcl.TraverseRoot{Name: parts[0]}}
	for _, p := range parts[1:] {
		tr = append(tr, hcl.TraverseAttr{Name: p})
	}
	return hclwrite.TokensForTraversal(tr)
}

// tfMap is a map of strings, keys sorted, values given as tokens.
func tfMap(m map[string]hclwrite.Tokens) hclwrite.Tokens {
	var attrs []hclwrite.ObjectAttrTokens
	for _, k := range slices.Sorted(maps.Keys(m)) {
		attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: hclwrite.TokensForValue(cty.StringVal(k)), Value: m[k]})
	}
	return hclwrite.TokensForObject(attrs)
}

func tfStrings(m map[string]string) hclwrite.Tokens {
	out := map[string]hclwrite.Tokens{}
	for k, v := range m {
		out[k] = tfString(v)
	}
	return tfMap(out)
}

func tfList(v ...string) cty.Value {
	vals := make([]cty.Value, len(v))
	for i, s := range v {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

func (e *Exporter) exportTerraform(fns []exportFunction, wfs []exportWorkflow) (*providers.Export, error) {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	root.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(fmt.Sprintf(
		"# evcli project %s (%s): written by evcli export from evcli.yaml; regenerate it rather than edit it.\n", e.o.Project, e.region))}})
	tf := root.AppendNewBlock("terraform", nil).Body()
	tf.AppendNewBlock("required_providers", nil).Body().SetAttributeRaw("aws", hclwrite.TokensForObject([]hclwrite.ObjectAttrTokens{
		{Name: hclwrite.TokensForIdentifier("source"), Value: hclwrite.TokensForValue(cty.StringVal("hashicorp/aws"))},
		{Name: hclwrite.TokensForIdentifier("version"), Value: hclwrite.TokensForValue(cty.StringVal(">= 5.0"))},
	}))
	root.AppendNewline()
	root.AppendNewBlock("provider", []string{"aws"}).Body().SetAttributeValue("region", cty.StringVal(e.region))
	root.AppendNewline()
	root.AppendNewBlock("data", []string{"aws_partition", "current"})
	root.AppendNewBlock("data", []string{"aws_caller_identity", "current"})

	out := &providers.Export{Format: providers.FormatTerraform, Files: []providers.ExportFile{{Path: TFTemplateFile, Template: true}}}
	scope := e.scope()
	// Secrets are variables, never values in the configuration.
	var secrets []string
	for _, fn := range fns {
		for _, s := range fn.FD.SecretNames {
			if !slices.Contains(secrets, s) {
				secrets = append(secrets, s)
			}
		}
	}
	slices.Sort(secrets)
	for _, s := range secrets {
		root.AppendNewline()
		v := root.AppendNewBlock("variable", []string{tfSecretVar(s)}).Body()
		v.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
		v.SetAttributeValue("description", cty.StringVal("secret "+s+" (evcli.yaml secrets)"))
		v.SetAttributeValue("sensitive", cty.True)
	}
	if e.o.Bus != "" {
		root.AppendNewline()
		b := root.AppendNewBlock("resource", []string{"aws_cloudwatch_event_bus", "bus"}).Body()
		b.SetAttributeValue("name", cty.StringVal(e.o.Bus))
		b.SetAttributeRaw("tags", tfStrings(map[string]string{TagProject: e.o.Project}))
	}
	if tb := e.o.Table; tb != nil && tb.Name != "" {
		root.AppendNewline()
		b := root.AppendNewBlock("resource", []string{"aws_dynamodb_table", "event_store"}).Body()
		b.SetAttributeValue("name", cty.StringVal(tb.Name))
		b.SetAttributeValue("billing_mode", cty.StringVal("PAY_PER_REQUEST"))
		b.SetAttributeValue("hash_key", cty.StringVal(tb.PartitionKey))
		if tb.SortKey != "" {
			b.SetAttributeValue("range_key", cty.StringVal(tb.SortKey))
		}
		for _, k := range tableKeys(tb) {
			a := b.AppendNewBlock("attribute", nil).Body()
			a.SetAttributeValue("name", cty.StringVal(k))
			a.SetAttributeValue("type", cty.StringVal("S"))
		}
		if tb.TTLAttribute != "" {
			ttl := b.AppendNewBlock("ttl", nil).Body()
			ttl.SetAttributeValue("attribute_name", cty.StringVal(tb.TTLAttribute))
			ttl.SetAttributeValue("enabled", cty.True)
		}
		b.SetAttributeRaw("tags", tfStrings(map[string]string{TagProject: e.o.Project}))
		// evcli never deletes the event store: it holds the event data.
		b.AppendNewBlock("lifecycle", nil).Body().SetAttributeValue("prevent_destroy", cty.True)
	}
	policy, _ := json.Marshal(leastPrivilegeDoc(scope, e.o.Bus, e.o.Table))
	for _, fn := range fns {
		fd, id := fn.FD, fn.TF
		role := hclwrite.TokensForValue(cty.StringVal(fd.Role))
		if fn.RoleName != "" {
			role = tfRef("aws_iam_role", id, "arn")
			root.AppendNewline()
			r := root.AppendNewBlock("resource", []string{"aws_iam_role", id}).Body()
			r.SetAttributeValue("name", cty.StringVal(fn.RoleName))
			r.SetAttributeValue("description", cty.StringVal(roleDescription(e.o.Project, fd.Name)))
			r.SetAttributeValue("assume_role_policy", cty.StringVal(lambdaTrustPolicy))
			r.SetAttributeRaw("tags", tfStrings(ownerTags(e.o.Project, fd.Name)))
			root.AppendNewline()
			a := root.AppendNewBlock("resource", []string{"aws_iam_role_policy_attachment", id + "_basic"}).Body()
			a.SetAttributeRaw("role", tfRef("aws_iam_role", id, "name"))
			a.SetAttributeRaw("policy_arn", tfString(basicExecutionPolicyARN(scope.Partition)))
			root.AppendNewline()
			p := root.AppendNewBlock("resource", []string{"aws_iam_role_policy", id}).Body()
			p.SetAttributeValue("name", cty.StringVal(inlinePolicyName))
			p.SetAttributeRaw("role", tfRef("aws_iam_role", id, "id"))
			p.SetAttributeRaw("policy", tfString(string(policy)))
		}
		root.AppendNewline()
		lg := root.AppendNewBlock("resource", []string{"aws_cloudwatch_log_group", id}).Body()
		lg.SetAttributeValue("name", cty.StringVal(fn.LogGroup))
		lg.SetAttributeValue("retention_in_days", cty.NumberIntVal(int64(e.o.LogRetentionDays)))
		lg.SetAttributeRaw("tags", tfStrings(ownerTags(e.o.Project, fd.Name)))

		root.AppendNewline()
		path := samArtifactDir + "/" + fd.Name + ".zip"
		out.Files = append(out.Files, providers.ExportFile{Path: path, Data: fn.Zip})
		l := root.AppendNewBlock("resource", []string{"aws_lambda_function", id}).Body()
		l.SetAttributeValue("function_name", cty.StringVal(fn.Physical))
		l.SetAttributeRaw("role", role)
		l.SetAttributeValue("runtime", cty.StringVal(fd.Runtime))
		l.SetAttributeValue("handler", cty.StringVal(fd.Handler))
		l.SetAttributeValue("architectures", tfList(archOrDefault(fd.Architecture)))
		if fd.MemoryMB > 0 {
			l.SetAttributeValue("memory_size", cty.NumberIntVal(int64(fd.MemoryMB)))
		}
		if fd.TimeoutS > 0 {
			l.SetAttributeValue("timeout", cty.NumberIntVal(int64(fd.TimeoutS)))
		}
		if fd.Concurrency > 0 {
			l.SetAttributeValue("reserved_concurrent_executions", cty.NumberIntVal(int64(fd.Concurrency)))
		}
		l.SetAttributeRaw("filename", tfString("${path.module}/"+path))
		l.SetAttributeValue("source_code_hash", cty.StringVal(fn.CodeSha256))
		l.SetAttributeValue("publish", cty.True)
		if len(fd.Env) > 0 {
			vars := map[string]hclwrite.Tokens{}
			for k, v := range fd.Env {
				vars[k] = hclwrite.TokensForValue(cty.StringVal(v))
				if slices.Contains(fd.SecretNames, k) {
					vars[k] = tfRef("var", tfSecretVar(k))
				}
			}
			l.AppendNewBlock("environment", nil).Body().SetAttributeRaw("variables", tfMap(vars))
		}
		l.SetAttributeRaw("tags", tfStrings(functionTags(e.o.Project, fd)))
		l.SetAttributeRaw("depends_on", hclwrite.TokensForTuple([]hclwrite.Tokens{tfRef("aws_cloudwatch_log_group", id)}))

		root.AppendNewline()
		al := root.AppendNewBlock("resource", []string{"aws_lambda_alias", id + "_live"}).Body()
		al.SetAttributeValue("name", cty.StringVal(AliasLive))
		al.SetAttributeValue("description", cty.StringVal(aliasDescription))
		al.SetAttributeRaw("function_name", tfRef("aws_lambda_function", id, "function_name"))
		al.SetAttributeRaw("function_version", tfRef("aws_lambda_function", id, "version"))

		for i, r := range fn.Rules {
			rid := fmt.Sprintf("%s_%d", id, i)
			if fn.Writer {
				rid = id
			}
			root.AppendNewline()
			rb := root.AppendNewBlock("resource", []string{"aws_cloudwatch_event_rule", rid}).Body()
			rb.SetAttributeValue("name", cty.StringVal(r.Name))
			bus := hclwrite.Tokens(nil)
			switch {
			case e.o.Bus != "" && r.Bus == e.o.Bus:
				bus = tfRef("aws_cloudwatch_event_bus", "bus", "name")
			case r.Bus != "default":
				bus = hclwrite.TokensForValue(cty.StringVal(r.Bus))
			}
			if bus != nil {
				rb.SetAttributeRaw("event_bus_name", bus)
			}
			rb.SetAttributeValue("description", cty.StringVal(r.Description))
			// The pattern as written (jsonencode would sort its keys).
			rb.SetAttributeValue("event_pattern", cty.StringVal(r.Pattern))
			rb.SetAttributeValue("state", cty.StringVal("ENABLED"))
			rb.SetAttributeRaw("tags", tfStrings(r.Tags))

			root.AppendNewline()
			tb := root.AppendNewBlock("resource", []string{"aws_cloudwatch_event_target", rid}).Body()
			tb.SetAttributeRaw("rule", tfRef("aws_cloudwatch_event_rule", rid, "name"))
			if bus != nil {
				tb.SetAttributeRaw("event_bus_name", tfRef("aws_cloudwatch_event_rule", rid, "event_bus_name"))
			}
			tb.SetAttributeValue("target_id", cty.StringVal(targetID))
			tb.SetAttributeRaw("arn", tfRef("aws_lambda_alias", id+"_live", "arn"))

			root.AppendNewline()
			pb := root.AppendNewBlock("resource", []string{"aws_lambda_permission", rid}).Body()
			pb.SetAttributeValue("statement_id", cty.StringVal(r.StatementID))
			pb.SetAttributeValue("action", cty.StringVal("lambda:InvokeFunction"))
			pb.SetAttributeRaw("function_name", tfRef("aws_lambda_function", id, "function_name"))
			pb.SetAttributeRaw("qualifier", tfRef("aws_lambda_alias", id+"_live", "name"))
			pb.SetAttributeValue("principal", cty.StringVal("events.amazonaws.com"))
			pb.SetAttributeRaw("source_arn", tfRef("aws_cloudwatch_event_rule", rid, "arn"))
		}
	}
	for _, x := range wfs {
		e.tfWorkflow(root, x)
	}
	out.Files[0].Data = hclwrite.Format(bytes.TrimLeft(f.Bytes(), "\n"))
	out.Next = []string{"terraform -chdir=DIR init", "terraform -chdir=DIR apply"}
	if len(secrets) > 0 {
		out.Next = append(out.Next, "(set each secret as TF_VAR_secret_<name>; its value is never written to the configuration)")
	}
	return out, nil
}

// tfWorkflow adds a workflow's resources: its role with its policy, log
// group and state machine and, when rules start it, the role EventBridge
// assumes and the rules with their targets.
func (e *Exporter) tfWorkflow(root *hclwrite.Body, x exportWorkflow) {
	w, id := x.W, x.TF
	role := func(name, rid, desc, trust string, doc policyDoc) {
		root.AppendNewline()
		r := root.AppendNewBlock("resource", []string{"aws_iam_role", rid}).Body()
		r.SetAttributeValue("name", cty.StringVal(name))
		r.SetAttributeValue("description", cty.StringVal(desc))
		r.SetAttributeValue("assume_role_policy", cty.StringVal(trust))
		r.SetAttributeRaw("tags", tfStrings(w.Tags))
		b, _ := json.Marshal(doc)
		root.AppendNewline()
		p := root.AppendNewBlock("resource", []string{"aws_iam_role_policy", rid}).Body()
		p.SetAttributeValue("name", cty.StringVal(inlinePolicyName))
		p.SetAttributeRaw("role", tfRef("aws_iam_role", rid, "id"))
		p.SetAttributeRaw("policy", tfString(string(b)))
	}
	role(w.RoleName, id, w.RoleDesc, statesTrustPolicy, w.Policy)
	root.AppendNewline()
	lg := root.AppendNewBlock("resource", []string{"aws_cloudwatch_log_group", id}).Body()
	lg.SetAttributeValue("name", cty.StringVal(w.LogGroup))
	lg.SetAttributeValue("retention_in_days", cty.NumberIntVal(int64(w.LogRetention)))
	lg.SetAttributeRaw("tags", tfStrings(w.Tags))

	root.AppendNewline()
	sm := root.AppendNewBlock("resource", []string{"aws_sfn_state_machine", id}).Body()
	sm.SetAttributeValue("name", cty.StringVal(w.Name))
	sm.SetAttributeValue("type", cty.StringVal(w.Spec.Type))
	sm.SetAttributeRaw("role_arn", tfRef("aws_iam_role", id, "arn"))
	sm.SetAttributeRaw("definition", tfString(w.Definition))
	lc := sm.AppendNewBlock("logging_configuration", nil).Body()
	lc.SetAttributeValue("level", cty.StringVal("ERROR"))
	lc.SetAttributeValue("include_execution_data", cty.False)
	lc.SetAttributeRaw("log_destination", tfString(w.LogGroupArn))
	sm.SetAttributeRaw("tags", tfStrings(w.Tags))
	sm.SetAttributeRaw("depends_on", hclwrite.TokensForTuple([]hclwrite.Tokens{tfRef("aws_cloudwatch_log_group", id), tfRef("aws_iam_role_policy", id)}))
	if w.EventsRoleName == "" {
		return
	}
	role(w.EventsRoleName, id+"_events", w.EventsRoleDesc, eventsTrustPolicy, w.EventsPolicy)
	for i, r := range w.Rules {
		rid := fmt.Sprintf("%s_%d", id, i)
		root.AppendNewline()
		rb := root.AppendNewBlock("resource", []string{"aws_cloudwatch_event_rule", rid}).Body()
		rb.SetAttributeValue("name", cty.StringVal(r.Name))
		bus := hclwrite.Tokens(nil)
		switch {
		case e.o.Bus != "" && r.Bus == e.o.Bus:
			bus = tfRef("aws_cloudwatch_event_bus", "bus", "name")
		case r.Bus != "default":
			bus = hclwrite.TokensForValue(cty.StringVal(r.Bus))
		}
		if bus != nil {
			rb.SetAttributeRaw("event_bus_name", bus)
		}
		rb.SetAttributeValue("description", cty.StringVal(r.Description))
		rb.SetAttributeValue("event_pattern", cty.StringVal(r.Pattern))
		rb.SetAttributeValue("state", cty.StringVal("ENABLED"))
		rb.SetAttributeRaw("tags", tfStrings(r.Tags))

		root.AppendNewline()
		tb := root.AppendNewBlock("resource", []string{"aws_cloudwatch_event_target", rid}).Body()
		tb.SetAttributeRaw("rule", tfRef("aws_cloudwatch_event_rule", rid, "name"))
		if bus != nil {
			tb.SetAttributeRaw("event_bus_name", tfRef("aws_cloudwatch_event_rule", rid, "event_bus_name"))
		}
		tb.SetAttributeValue("target_id", cty.StringVal(workflowTargetID))
		tb.SetAttributeRaw("arn", tfRef("aws_sfn_state_machine", id, "arn"))
		tb.SetAttributeRaw("role_arn", tfRef("aws_iam_role", id+"_events", "arn"))
	}
}

// tfSecretVar is the variable holding a secret's value.
func tfSecretVar(name string) string { return "secret_" + strings.TrimPrefix(snakeID(name), "fn_") }
