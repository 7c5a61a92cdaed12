package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/evcli/evcli/providers"
)

// targetID is the id of the function's target on each of its rules.
const targetID = "evcli-live"

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// syncRules makes fd's rules exist as wanted (pattern, description, the
// live alias as target, EventBridge's permission to invoke it) and deletes
// the function's rules that are no longer wanted. Calls are made only for
// what differs.
func (d *Deployer) syncRules(ctx context.Context, fd providers.FunctionDeployment, functionARN string) error {
	have, err := d.projectRules(ctx, fd.Name)
	if err != nil {
		return err
	}
	if functionARN == "" {
		return wrapDeployErr("function "+fd.Name, fmt.Errorf("no function ARN"))
	}
	aliasARN := functionARN + ":" + AliasLive
	key := func(bus, name string) string { return normBus(bus) + "\x00" + name }
	existing := map[string]deployedRule{}
	for _, r := range have {
		existing[key(r.Bus, r.Name)] = r
	}
	var grants *invokeGrants
	wanted := map[string]bool{}
	for _, want := range desiredRules(d.o.Project, fd) {
		name, bus := want.Name, want.Bus
		wanted[key(bus, name)] = true
		res := "rule " + name
		cur, ok := existing[key(bus, name)]
		ruleARN := cur.Arn
		enabled := cur.State == "" || cur.State == string(ebtypes.RuleStateEnabled)
		if !ok || compactJSON([]byte(cur.Pattern)) != want.Pattern || cur.Description != want.Description || !enabled {
			out, err := retry(ctx, d, res, func(ctx context.Context) (*eventbridge.PutRuleOutput, error) {
				return d.events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus),
					EventPattern: aws.String(want.Pattern), Description: aws.String(want.Description), State: ebtypes.RuleStateEnabled,
					Tags: ebTags(want.Tags)})
			})
			if err != nil {
				return err
			}
			ruleARN = aws.ToString(out.RuleArn)
		}
		if ruleARN == "" {
			if ruleARN, err = d.ruleARN(ctx, bus, name); err != nil {
				return err
			}
		}
		var targets []string
		if ok {
			if targets, err = d.ruleTargets(ctx, deployedRule{Name: name, Bus: bus}); err != nil {
				return err
			}
		}
		hasTarget := false
		for _, t := range targets {
			hasTarget = hasTarget || t == aliasARN
		}
		if !hasTarget {
			out, err := retry(ctx, d, res, func(ctx context.Context) (*eventbridge.PutTargetsOutput, error) {
				return d.events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus),
					Targets: []ebtypes.Target{{Id: aws.String(targetID), Arn: aws.String(aliasARN)}}})
			})
			if err != nil {
				return err
			}
			if out.FailedEntryCount > 0 && len(out.FailedEntries) > 0 {
				fe := out.FailedEntries[0]
				return wrapDeployErr(res, fmt.Errorf("PutTargets failed: %s: %s", aws.ToString(fe.ErrorCode), aws.ToString(fe.ErrorMessage)))
			}
		}
		if grants == nil {
			g, err := d.policyStatements(ctx, d.physical(fd.Name))
			if err != nil {
				return err
			}
			grants = &g
		}
		sid := want.StatementID
		if !grants.allows(sid, ruleARN) {
			err := do(ctx, d, "function "+d.physical(fd.Name), func(ctx context.Context) (*lambda.AddPermissionOutput, error) {
				return d.lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(d.physical(fd.Name)), Qualifier: aws.String(AliasLive),
					StatementId: aws.String(sid), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"),
					SourceArn: aws.String(ruleARN)})
			})
			if err != nil && providers.CodeOf(err) != providers.Conflict {
				return err
			}
			grants.sids[sid] = true
		}
	}
	for _, r := range have {
		if wanted[key(r.Bus, r.Name)] {
			continue
		}
		if err := d.deleteRule(ctx, r, true); err != nil {
			return err
		}
	}
	return nil
}

// ruleARN is the ARN of rule name on bus.
func (d *Deployer) ruleARN(ctx context.Context, bus, name string) (string, error) {
	s, err := d.scope(ctx)
	if err != nil {
		return "", err
	}
	return s.ruleARN(bus, name), nil
}

// ebTags is tags in EventBridge's form, sorted by key.
func ebTags(tags map[string]string) []ebtypes.Tag {
	out := make([]ebtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ebtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

// deleteRule removes a rule's targets, the rule and, with permission, the
// function's permission for it. What is already gone is not an error.
func (d *Deployer) deleteRule(ctx context.Context, r deployedRule, permission bool) error {
	res := "rule " + r.Name
	var ids []string
	var token *string
	for {
		page, err := retry(ctx, d, res, func(ctx context.Context) (*eventbridge.ListTargetsByRuleOutput, error) {
			return d.events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(r.Name), EventBusName: aws.String(r.Bus), NextToken: token})
		})
		if providers.CodeOf(err) == providers.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		for _, t := range page.Targets {
			ids = append(ids, aws.ToString(t.Id))
		}
		if token = page.NextToken; token == nil || *token == "" {
			break
		}
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 100)]
		ids = ids[len(batch):]
		if err := do(ctx, d, res, func(ctx context.Context) (*eventbridge.RemoveTargetsOutput, error) {
			return d.events.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(r.Name), EventBusName: aws.String(r.Bus), Ids: batch})
		}); err != nil && providers.CodeOf(err) != providers.NotFound {
			return err
		}
	}
	if err := do(ctx, d, res, func(ctx context.Context) (*eventbridge.DeleteRuleOutput, error) {
		return d.events.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(r.Name), EventBusName: aws.String(r.Bus)})
	}); err != nil && providers.CodeOf(err) != providers.NotFound {
		return err
	}
	if !permission {
		return nil
	}
	err := do(ctx, d, "function "+d.physical(r.Meta.Function), func(ctx context.Context) (*lambda.RemovePermissionOutput, error) {
		return d.lambda.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(d.physical(r.Meta.Function)),
			Qualifier: aws.String(AliasLive), StatementId: aws.String(statementID(r.Bus, r.Name))})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return nil
	}
	return err
}
