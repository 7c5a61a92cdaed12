package aws

import (
	"fmt"
	"slices"
	"strings"

	"github.com/evcli/evcli/providers"
)

// The desired state of what evcli owns on AWS for a project, as pure
// functions of the project's options and its functions. The Deployer
// converges the account towards it with API calls; the Exporter writes the
// same resources as a template. Neither keeps its own list: a name, tag,
// policy statement or rule setting changed here changes both.

// arnScope spells the ARNs of the desired state: with the account's values
// when deploying, with the template language's placeholders when exporting
// (${AWS::AccountId}, ...), so a template is written without credentials.
type arnScope struct {
	Partition, Region, Account string
}

// Placeholders an exported template resolves (CloudFormation's pseudo
// parameters; the Terraform writer maps them to data sources).
const (
	phPartition = "${AWS::Partition}"
	phRegion    = "${AWS::Region}"
	phAccount   = "${AWS::AccountId}"
)

func (s arnScope) busARN(bus string) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:event-bus/%s", s.Partition, s.Region, s.Account, normBus(bus))
}

func (s arnScope) tableARN(table string) string {
	return fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", s.Partition, s.Region, s.Account, table)
}

func (s arnScope) ruleARN(bus, name string) string {
	path := name
	if normBus(bus) != "default" {
		path = bus + "/" + name
	}
	return fmt.Sprintf("arn:%s:events:%s:%s:rule/%s", s.Partition, s.Region, s.Account, path)
}

// leastPrivilegeDoc is the inline policy of a function's role: PutEvents on
// the project's bus and, with an event-store table, item read/write on it.
func leastPrivilegeDoc(s arnScope, bus string, table *TableSpec) policyDoc {
	doc := policyDoc{Version: "2012-10-17", Statement: []policyStatement{
		{Sid: "PutEventsOnProjectBus", Effect: "Allow", Action: []string{"events:PutEvents"}, Resource: []string{s.busARN(bus)}},
	}}
	if table != nil && table.Name != "" {
		arn := s.tableARN(table.Name)
		doc.Statement = append(doc.Statement, policyStatement{Sid: "EventStoreReadWrite", Effect: "Allow",
			Action: []string{"dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem",
				"dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"},
			Resource: []string{arn, arn + "/index/*"}})
	}
	return doc
}

// functionTags are the tags evcli keeps on a function.
func functionTags(project string, fd providers.FunctionDeployment) map[string]string {
	t := map[string]string{TagProject: project, TagFunction: fd.Name}
	if fd.Correlation != "" {
		t[tagCorrelation] = encodeTagValue(fd.Correlation)
	}
	if len(fd.SecretNames) > 0 {
		s := slices.Clone(fd.SecretNames)
		slices.Sort(s)
		if v := strings.Join(s, " "); len(v) <= 256 {
			t[tagSecrets] = v
		}
	}
	return t
}

// ownerTags are the tags of a function's role, log group and rules.
func ownerTags(project, fn string) map[string]string {
	return map[string]string{TagProject: project, TagFunction: fn}
}

// roleDescription is the description of the role evcli makes for fn.
func roleDescription(project, fn string) string {
	return "execution role of " + fn + ", managed by evcli (project " + project + ")"
}

// aliasDescription is the description of the live alias.
const aliasDescription = "the version evcli deployed last; evcli rollback moves it"

// desiredRule is one EventBridge rule of a function as evcli makes it: the
// rule, its one target (the live alias) and the permission letting
// EventBridge invoke that alias.
type desiredRule struct {
	Spec providers.RuleSpec
	// Name is the rule's name, Bus its bus ("default" for the default bus).
	Name, Bus string
	// Pattern is the pattern as compact JSON.
	Pattern string
	// Description carries ruleMeta, by which Deployed finds the rule.
	Description string
	// StatementID names the permission on the live alias.
	StatementID string
	Tags        map[string]string
}

// desiredRules are fd's rules as evcli makes them.
func desiredRules(project string, fd providers.FunctionDeployment) []desiredRule {
	out := make([]desiredRule, 0, len(fd.Rules))
	for _, spec := range fd.Rules {
		name, bus := RuleName(project, spec.ID), normBus(spec.Bus)
		meta := ruleMeta{Project: project, Function: fd.Name, ID: spec.ID, Bus: spec.Bus}
		out = append(out, desiredRule{Spec: spec, Name: name, Bus: bus, Pattern: compactJSON(spec.Pattern),
			Description: meta.description(), StatementID: statementID(bus, name), Tags: ownerTags(project, fd.Name)})
	}
	return out
}

// writerDeployment is the event-store writer's desired deployment for
// table (nil: the project has none), its code the embedded zip whose
// base64 SHA-256 is sha, at path.
func writerDeployment(t *TableSpec, bus, sha, path string) *providers.FunctionDeployment {
	if t == nil || t.Name == "" {
		return nil
	}
	keys := storeWriterKeys{Aggregate: t.PartitionKey, Sort: t.SortKey, ID: t.ID, Type: t.Type,
		Data: t.Data, Version: t.Version, TTL: t.TTLAttribute, TTLDays: t.TTLDays}
	return &providers.FunctionDeployment{
		Name: StoreWriterFunction, Runtime: "nodejs22.x", Handler: "index.handler", Architecture: "arm64",
		MemoryMB: 128, TimeoutS: 10, CodeSha256: sha, ArtifactPath: path,
		Env:   map[string]string{"EVCLI_STORE_TABLE": t.Name, "EVCLI_STORE_KEYS": keys.json()},
		Rules: []providers.RuleSpec{{ID: StoreWriterFunction, Bus: bus, Pattern: []byte(StoreWriterPattern)}},
	}
}

// tableKeys are the table's key attributes: partition first, then the sort
// key when there is one.
func tableKeys(t *TableSpec) []string {
	if t.SortKey == "" {
		return []string{t.PartitionKey}
	}
	return []string{t.PartitionKey, t.SortKey}
}
