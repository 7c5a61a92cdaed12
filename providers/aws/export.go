package aws

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/evcli/evcli/providers"
)

// Exporter writes the resources the Deployer makes as a CloudFormation,
// SAM or Terraform template, from the same desired state (desired.go):
// physical names, tags, roles with their least-privilege policies, log
// groups with retention, function settings, the bus, rules with their
// patterns targeting the live alias, the permissions, the event-store table
// with TTL and its writer. It needs no credentials: the account and
// partition are the template's own placeholders.
type Exporter struct {
	o      DeployerOptions
	region string
}

// NewExporter returns an Exporter for region with the deployer's options.
func NewExporter(region string, o DeployerOptions) *Exporter {
	if o.LogRetentionDays <= 0 {
		o.LogRetentionDays = 14
	}
	if o.Bus == "default" {
		o.Bus = ""
	}
	return &Exporter{o: o, region: region}
}

// exportFunction is one function of the export with all evcli makes for it.
type exportFunction struct {
	FD providers.FunctionDeployment
	// ID is the base of its CloudFormation logical ids, TF of its
	// Terraform names.
	ID, TF   string
	Physical string
	// RoleName is the role evcli makes ("" when evcli.yaml gives a role).
	RoleName string
	LogGroup string
	Rules    []desiredRule
	Zip      []byte
	// Sum is the zip's SHA-256; CodeSha256 the same in base64.
	Sum        []byte
	CodeSha256 string
	Writer     bool
}

// Export implements providers.Exporter.
func (e *Exporter) Export(ctx context.Context, desired []providers.FunctionDeployment, format string) (*providers.Export, error) {
	if e.region == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "aws", Err: fmt.Errorf("no region: the role names carry it"),
			Hint: "set region: in evcli.yaml, pass --region, or set AWS_REGION"}
	}
	fns, err := e.functions(desired)
	if err != nil {
		return nil, err
	}
	wfs, err := e.workflows()
	if err != nil {
		return nil, err
	}
	switch format {
	case providers.FormatCloudFormation, providers.FormatSAM:
		return e.exportCFN(fns, wfs, format == providers.FormatSAM)
	case providers.FormatTerraform:
		return e.exportTerraform(fns, wfs)
	}
	return nil, &providers.Error{Code: providers.Unsupported, Resource: "aws",
		Err: fmt.Errorf("export --format %s is not available on aws: it writes %s", format, strings.Join(providers.ExportFormats, ", "))}
}

// functions are desired and the event-store writer, with their zips.
func (e *Exporter) functions(desired []providers.FunctionDeployment) ([]exportFunction, error) {
	var out []exportFunction
	add := func(fd providers.FunctionDeployment, zip []byte, writer bool) {
		sum := sha256.Sum256(zip)
		f := exportFunction{FD: fd, Physical: FunctionName(e.o.Project, fd.Name), LogGroup: LogGroupName(e.o.Project, fd.Name),
			Rules: desiredRules(e.o.Project, fd), Zip: zip, Sum: sum[:], CodeSha256: base64.StdEncoding.EncodeToString(sum[:]), Writer: writer}
		if fd.Role == "" {
			f.RoleName = RoleNameIn(e.o.Project, fd.Name, e.region)
		}
		out = append(out, f)
	}
	for _, fd := range desired {
		if fd.ArtifactPath == "" {
			return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name, Err: fmt.Errorf("no artifact to export")}
		}
		zip, err := os.ReadFile(fd.ArtifactPath)
		if err != nil {
			return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name, Err: err}
		}
		add(fd, zip, false)
	}
	if e.o.Table != nil && e.o.Table.Name != "" {
		zip, err := storeWriterZip()
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(zip)
		add(*writerDeployment(e.o.Table, e.o.Bus, base64.StdEncoding.EncodeToString(sum[:]), ""), zip, true)
	}
	slices.SortFunc(out, func(a, b exportFunction) int { return strings.Compare(a.FD.Name, b.FD.Name) })
	// Logical ids: CamelCase letters and digits (CloudFormation), snake
	// case (Terraform); a clash gets a hash suffix.
	seenID, seenTF := map[string]bool{}, map[string]bool{}
	for i := range out {
		f := &out[i]
		f.ID, f.TF = uniqueID(camelID(f.FD.Name), f.FD.Name, seenID), uniqueID(snakeID(f.FD.Name), f.FD.Name, seenTF)
	}
	return out, nil
}

// exportWorkflow is one workflow of the export: its desired state and the
// base of its CloudFormation logical ids (ID) and Terraform names (TF).
type exportWorkflow struct {
	W      desiredWorkflow
	ID, TF string
}

// workflows are the project's workflows as the Deployer makes them, with
// the template's placeholders for the account and partition.
func (e *Exporter) workflows() ([]exportWorkflow, error) {
	var out []exportWorkflow
	physical := func(fn string) string { return FunctionName(e.o.Project, fn) }
	seenID, seenTF := map[string]bool{}, map[string]bool{}
	for _, w := range e.o.Workflows {
		dw, err := desiredWorkflowOf(e.o.Project, e.scope(), w, physical, e.o.LogRetentionDays)
		if err != nil {
			return nil, err
		}
		out = append(out, exportWorkflow{W: dw, ID: uniqueID("Workflow"+camelID(w.Name), w.Name, seenID),
			TF: uniqueID("workflow_"+strings.TrimPrefix(snakeID(w.Name), "fn_"), w.Name, seenTF)})
	}
	return out, nil
}

// subDefinition is a rendered definition for Fn::Sub: a "${" of the
// definition's own is written "${!" (a literal), the placeholders of the
// account and partition stay.
func subDefinition(def string) string {
	s := strings.ReplaceAll(def, "${", "${!")
	for _, ph := range []string{phPartition, phAccount, phRegion} {
		s = strings.ReplaceAll(s, "${!"+ph[2:], ph)
	}
	return s
}

func uniqueID(id, name string, seen map[string]bool) string {
	if seen[id] {
		sum := sha256.Sum256([]byte(name))
		id += hex.EncodeToString(sum[:3])
	}
	seen[id] = true
	return id
}

// camelID is name as a CloudFormation logical id: "order-created" ->
// "OrderCreated".
func camelID(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 || !unicode.IsLetter(rune(b.String()[0])) {
		return "Fn" + b.String()
	}
	return b.String()
}

// snakeID is name as a Terraform name: "order-created" -> "order_created".
func snakeID(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "fn_" + s
	}
	return s
}

// scope spells the ARNs of a template: the region evcli names roles after,
// the account and partition as the template's placeholders.
func (e *Exporter) scope() arnScope {
	return arnScope{Partition: phPartition, Region: e.region, Account: phAccount}
}

// versionDigest changes when anything a published version holds changes
// (code, runtime, handler, memory, timeout, architecture, environment,
// role), so a template publishes a new version exactly then.
func versionDigest(f exportFunction) string {
	fd := f.FD
	env := map[string]string{}
	for k, v := range fd.Env {
		if !slices.Contains(fd.SecretNames, k) {
			env[k] = v
		}
	}
	b, _ := json.Marshal([]any{f.CodeSha256, fd.Runtime, fd.Handler, fd.MemoryMB, fd.TimeoutS, archOrDefault(fd.Architecture), env, fd.SecretNames, fd.Role})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

func archOrDefault(a string) string {
	if a == "" {
		return "x86_64"
	}
	return a
}

// secretParam is the template parameter holding a secret's value.
func secretParam(name string) string { return "Secret" + camelID(strings.ToLower(name)) }

// ---- CloudFormation and SAM ----

const (
	cfnArtifactBucket = "ArtifactBucket"
	cfnBusID          = "EventBus"
	cfnTableID        = "EventStore"
	// CFNTemplateFile is the template's file name in the output directory.
	CFNTemplateFile = "template.yaml"
	// samArtifactDir holds the zips SAM's CodeUri points at.
	samArtifactDir = "artifacts"
)

func (e *Exporter) exportCFN(fns []exportFunction, wfs []exportWorkflow, sam bool) (*providers.Export, error) {
	t := &CFNTemplate{AWSTemplateFormatVersion: "2010-09-09", Resources: map[string]CFNResource{}, Parameters: map[string]CFNParameter{},
		Description: fmt.Sprintf("evcli project %s (%s): written by evcli export from evcli.yaml; regenerate it rather than edit it", e.o.Project, e.region)}
	out := &providers.Export{Format: providers.FormatCloudFormation}
	if sam {
		t.Transform, out.Format = samTransform, providers.FormatSAM
	} else {
		t.Parameters[cfnArtifactBucket] = CFNParameter{Type: "String",
			Description: "S3 bucket in " + e.region + " holding the zips under evcli/ (aws s3 sync DIR/evcli s3://BUCKET/evcli)"}
	}
	out.Files = append(out.Files, providers.ExportFile{Path: CFNTemplateFile, Template: true})
	scope := e.scope()
	if e.o.Bus != "" {
		t.Resources[cfnBusID] = CFNResource{Type: cfnTypeBus, Properties: &CFNBus{Name: e.o.Bus, Tags: cfnTags(map[string]string{TagProject: e.o.Project})}}
	}
	if tb := e.o.Table; tb != nil && tb.Name != "" {
		p := &CFNTable{TableName: tb.Name, BillingMode: "PAY_PER_REQUEST", Tags: cfnTags(map[string]string{TagProject: e.o.Project})}
		for i, k := range tableKeys(tb) {
			p.AttributeDefinitions = append(p.AttributeDefinitions, CFNAttribute{AttributeName: k, AttributeType: "S"})
			p.KeySchema = append(p.KeySchema, CFNKey{AttributeName: k, KeyType: []string{"HASH", "RANGE"}[i]})
		}
		if tb.TTLAttribute != "" {
			p.TimeToLiveSpecification = &CFNTimeToLive{AttributeName: tb.TTLAttribute, Enabled: true}
		}
		// evcli never deletes the event store: it holds the event data.
		t.Resources[cfnTableID] = CFNResource{Type: cfnTypeTable, DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain", Properties: p}
	}
	policy, _ := json.Marshal(leastPrivilegeDoc(scope, e.o.Bus, e.o.Table))
	for _, f := range fns {
		fd := f.FD
		id := f.ID
		settings := LambdaSettings{FunctionName: f.Physical, Runtime: fd.Runtime, Handler: fd.Handler,
			Architectures: []string{archOrDefault(fd.Architecture)}, MemorySize: fd.MemoryMB, Timeout: fd.TimeoutS,
			Role: cfnLit(fd.Role), ReservedConcurrentExecutions: fd.Concurrency}
		if f.RoleName != "" {
			settings.Role = cfnGetAtt(id+"Role", "Arn")
			t.Resources[id+"Role"] = CFNResource{Type: cfnTypeRole, Properties: &CFNRole{
				RoleName: f.RoleName, Description: roleDescription(e.o.Project, fd.Name),
				AssumeRolePolicyDocument: mustCFNJSON([]byte(lambdaTrustPolicy)),
				ManagedPolicyArns:        []CFNString{cfnSubIf(basicExecutionPolicyARN(scope.Partition))},
				Policies:                 []CFNInlinePolicy{{PolicyName: inlinePolicyName, PolicyDocument: mustCFNJSON(policy)}},
				Tags:                     cfnTags(ownerTags(e.o.Project, fd.Name)),
			}}
		}
		if len(fd.Env) > 0 {
			settings.Environment = &CFNEnvironment{Variables: map[string]CFNString{}}
			for k, v := range fd.Env {
				settings.Environment.Variables[k] = cfnLit(v)
				if slices.Contains(fd.SecretNames, k) {
					settings.Environment.Variables[k] = cfnRef(secretParam(k))
					t.Parameters[secretParam(k)] = CFNParameter{Type: "String", NoEcho: true,
						Description: "secret " + k + " of function " + fd.Name + " (evcli.yaml secrets)"}
				}
			}
		}
		t.Resources[id+"LogGroup"] = CFNResource{Type: cfnTypeLogGroup, Properties: &CFNLogGroup{
			LogGroupName: f.LogGroup, RetentionInDays: e.o.LogRetentionDays, Tags: cfnTags(ownerTags(e.o.Project, fd.Name))}}
		alias := id + "Alias"
		if sam {
			// SAM names the alias it makes <function id>Alias<alias name>.
			alias = id + "Function" + "Alias" + AliasLive
			path := samArtifactDir + "/" + fd.Name + ".zip"
			t.Resources[id+"Function"] = CFNResource{Type: cfnTypeSAMFunction, DependsOn: []string{id + "LogGroup"}, Properties: &SAMFunction{
				LambdaSettings: settings, CodeUri: path, AutoPublishAlias: AliasLive, AutoPublishAliasAllProperties: true,
				Tags: functionTags(e.o.Project, fd)}}
			out.Files = append(out.Files, providers.ExportFile{Path: path, Data: f.Zip})
		} else {
			key := artifactKey(e.o.Project, fd.Name, f.Sum)
			t.Resources[id+"Function"] = CFNResource{Type: cfnTypeFunction, DependsOn: []string{id + "LogGroup"}, Properties: &CFNFunction{
				LambdaSettings: settings, Code: CFNCode{S3Bucket: cfnRef(cfnArtifactBucket), S3Key: key},
				Tags: cfnTags(functionTags(e.o.Project, fd))}}
			// The version's logical id changes with what it holds, so
			// CloudFormation publishes a new one (and keeps the old, as
			// evcli does, for rollback) exactly when the function changed.
			digest := versionDigest(f)
			version := id + "Version" + digest
			t.Resources[version] = CFNResource{Type: cfnTypeVersion, DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain", Properties: &CFNVersion{
				FunctionName: cfnRef(id + "Function"), Description: "evcli " + digest}}
			t.Resources[alias] = CFNResource{Type: cfnTypeAlias, Properties: &CFNAlias{
				FunctionName: cfnRef(id + "Function"), FunctionVersion: cfnGetAtt(version, "Version"), Name: AliasLive, Description: aliasDescription}}
			out.Files = append(out.Files, providers.ExportFile{Path: key, Data: f.Zip})
		}
		for i, r := range f.Rules {
			rid := fmt.Sprintf("%sRule%d", id, i)
			if f.Writer {
				rid = id + "Rule"
			}
			p := &CFNRule{Name: r.Name, Description: r.Description, EventPattern: mustCFNJSON([]byte(r.Pattern)), State: "ENABLED",
				Targets: []CFNTarget{{Id: targetID, Arn: cfnRef(alias)}}, Tags: cfnTags(r.Tags)}
			switch {
			case e.o.Bus != "" && r.Bus == e.o.Bus:
				p.EventBusName = cfnRef(cfnBusID)
			case r.Bus != "default":
				p.EventBusName = cfnLit(r.Bus)
			}
			t.Resources[rid] = CFNResource{Type: cfnTypeRule, Properties: p}
			t.Resources[rid+"Permission"] = CFNResource{Type: cfnTypePermission, Properties: &CFNPermission{
				FunctionName: cfnRef(alias), Action: "lambda:InvokeFunction", Principal: "events.amazonaws.com", SourceArn: cfnGetAtt(rid, "Arn")}}
		}
	}
	for _, x := range wfs {
		e.cfnWorkflow(t, x)
	}
	if len(t.Parameters) == 0 {
		t.Parameters = nil
	}
	b, err := marshalCFN(t)
	if err != nil {
		return nil, err
	}
	out.Files[0].Data = b
	stack := e.o.Project
	if sam {
		out.Next = []string{
			fmt.Sprintf("sam deploy --template-file DIR/%s --stack-name %s --region %s --capabilities CAPABILITY_NAMED_IAM --resolve-s3", CFNTemplateFile, stack, e.region),
		}
	} else {
		out.Next = []string{
			"aws s3 sync DIR/evcli s3://BUCKET/evcli",
			fmt.Sprintf("aws cloudformation deploy --template-file DIR/%s --stack-name %s --region %s --capabilities CAPABILITY_NAMED_IAM --parameter-overrides ArtifactBucket=BUCKET", CFNTemplateFile, stack, e.region),
		}
	}
	if len(t.Parameters) > 1 || (sam && len(t.Parameters) > 0) {
		out.Next = append(out.Next, "(pass each secret as --parameter-overrides SecretNAME=value; its value is never written to the template)")
	}
	return out, nil
}

// cfnWorkflow adds a workflow's resources: its role, log group and state
// machine and, when rules start it, the role EventBridge assumes and the
// rules targeting the state machine.
func (e *Exporter) cfnWorkflow(t *CFNTemplate, x exportWorkflow) {
	w, id := x.W, x.ID
	policy, _ := json.Marshal(w.Policy)
	t.Resources[id+"Role"] = CFNResource{Type: cfnTypeRole, Properties: &CFNRole{
		RoleName: w.RoleName, Description: w.RoleDesc, AssumeRolePolicyDocument: mustCFNJSON([]byte(statesTrustPolicy)),
		ManagedPolicyArns: []CFNString{}, Policies: []CFNInlinePolicy{{PolicyName: inlinePolicyName, PolicyDocument: mustCFNJSON(policy)}},
		Tags: cfnTags(w.Tags)}}
	t.Resources[id+"LogGroup"] = CFNResource{Type: cfnTypeLogGroup, Properties: &CFNLogGroup{
		LogGroupName: w.LogGroup, RetentionInDays: w.LogRetention, Tags: cfnTags(w.Tags)}}
	logging := &CFNSFNLogging{Level: "ERROR", Destinations: make([]CFNSFNDestination, 1)}
	logging.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn = cfnSubIf(w.LogGroupArn)
	t.Resources[id+"StateMachine"] = CFNResource{Type: cfnTypeSFN, DependsOn: []string{id + "LogGroup"}, Properties: &CFNStateMachine{
		StateMachineName: w.Name, StateMachineType: w.Spec.Type, DefinitionString: cfnSubIf(subDefinition(w.Definition)),
		RoleArn: cfnGetAtt(id+"Role", "Arn"), LoggingConfiguration: logging, Tags: cfnTags(w.Tags)}}
	if w.EventsRoleName == "" {
		return
	}
	events, _ := json.Marshal(w.EventsPolicy)
	t.Resources[id+"EventsRole"] = CFNResource{Type: cfnTypeRole, Properties: &CFNRole{
		RoleName: w.EventsRoleName, Description: w.EventsRoleDesc, AssumeRolePolicyDocument: mustCFNJSON([]byte(eventsTrustPolicy)),
		ManagedPolicyArns: []CFNString{}, Policies: []CFNInlinePolicy{{PolicyName: inlinePolicyName, PolicyDocument: mustCFNJSON(events)}},
		Tags: cfnTags(w.Tags)}}
	for i, r := range w.Rules {
		p := &CFNRule{Name: r.Name, Description: r.Description, EventPattern: mustCFNJSON([]byte(r.Pattern)), State: "ENABLED",
			Targets: []CFNTarget{{Id: workflowTargetID, Arn: cfnRef(id + "StateMachine"), RoleArn: cfnGetAtt(id+"EventsRole", "Arn")}}, Tags: cfnTags(r.Tags)}
		switch {
		case e.o.Bus != "" && r.Bus == e.o.Bus:
			p.EventBusName = cfnRef(cfnBusID)
		case r.Bus != "default":
			p.EventBusName = cfnLit(r.Bus)
		}
		t.Resources[fmt.Sprintf("%sRule%d", id, i)] = CFNResource{Type: cfnTypeRule, Properties: p}
	}
}

var _ providers.Exporter = (*Exporter)(nil)
