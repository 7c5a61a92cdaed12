package aws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// A small typed model of the CloudFormation (and SAM) resources evcli
// exports, written and read as YAML. It holds the dozen resource types
// evcli creates and only the properties it sets; goformation has every
// type but adds megabytes to the binary and writes null for unset fields.

// CFNTemplate is a CloudFormation or SAM template.
type CFNTemplate struct {
	AWSTemplateFormatVersion string                  `yaml:"AWSTemplateFormatVersion"`
	Transform                string                  `yaml:"Transform,omitempty"`
	Description              string                  `yaml:"Description"`
	Parameters               map[string]CFNParameter `yaml:"Parameters,omitempty"`
	Resources                map[string]CFNResource  `yaml:"Resources"`
}

// CFNParameter is a template parameter.
type CFNParameter struct {
	Type        string `yaml:"Type"`
	Description string `yaml:"Description"`
	NoEcho      bool   `yaml:"NoEcho,omitempty"`
}

// CFNResource is one resource; Properties is one of the CFN* property
// types below, chosen by Type when a template is read.
type CFNResource struct {
	Type                string   `yaml:"Type"`
	DependsOn           []string `yaml:"DependsOn,omitempty"`
	DeletionPolicy      string   `yaml:"DeletionPolicy,omitempty"`
	UpdateReplacePolicy string   `yaml:"UpdateReplacePolicy,omitempty"`
	Properties          any      `yaml:"Properties"`
}

// Resource types evcli exports.
const (
	cfnTypeFunction    = "AWS::Lambda::Function"
	cfnTypeSAMFunction = "AWS::Serverless::Function"
	cfnTypeVersion     = "AWS::Lambda::Version"
	cfnTypeAlias       = "AWS::Lambda::Alias"
	cfnTypePermission  = "AWS::Lambda::Permission"
	cfnTypeRole        = "AWS::IAM::Role"
	cfnTypeLogGroup    = "AWS::Logs::LogGroup"
	cfnTypeRule        = "AWS::Events::Rule"
	cfnTypeBus         = "AWS::Events::EventBus"
	cfnTypeTable       = "AWS::DynamoDB::Table"
	cfnTypeSFN         = "AWS::StepFunctions::StateMachine"
	samTransform       = "AWS::Serverless-2016-10-31"
)

// cfnProperties makes the properties of each resource type, for reading.
var cfnProperties = map[string]func() any{
	cfnTypeFunction: func() any { return &CFNFunction{} }, cfnTypeSAMFunction: func() any { return &SAMFunction{} },
	cfnTypeVersion: func() any { return &CFNVersion{} }, cfnTypeAlias: func() any { return &CFNAlias{} },
	cfnTypePermission: func() any { return &CFNPermission{} }, cfnTypeRole: func() any { return &CFNRole{} },
	cfnTypeLogGroup: func() any { return &CFNLogGroup{} }, cfnTypeRule: func() any { return &CFNRule{} },
	cfnTypeBus: func() any { return &CFNBus{} }, cfnTypeTable: func() any { return &CFNTable{} },
	cfnTypeSFN: func() any { return &CFNStateMachine{} },
}

func (r *CFNResource) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Type                string    `yaml:"Type"`
		DependsOn           []string  `yaml:"DependsOn"`
		DeletionPolicy      string    `yaml:"DeletionPolicy"`
		UpdateReplacePolicy string    `yaml:"UpdateReplacePolicy"`
		Properties          yaml.Node `yaml:"Properties"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	r.Type, r.DependsOn, r.DeletionPolicy, r.UpdateReplacePolicy = raw.Type, raw.DependsOn, raw.DeletionPolicy, raw.UpdateReplacePolicy
	newProps, ok := cfnProperties[raw.Type]
	if !ok {
		return fmt.Errorf("line %d: resource type %q is not one evcli exports", n.Line, raw.Type)
	}
	props := newProps()
	if raw.Properties.Kind != 0 {
		if err := raw.Properties.Decode(props); err != nil {
			return err
		}
	}
	r.Properties = props
	return nil
}

// CFNString is a string property: a literal, or an intrinsic function
// (Fn "Ref", "GetAtt" with Arg "Resource.Attribute", "Sub").
type CFNString struct {
	Fn, Arg string
}

func cfnLit(s string) CFNString           { return CFNString{Arg: s} }
func cfnRef(id string) CFNString          { return CFNString{Fn: "Ref", Arg: id} }
func cfnGetAtt(id, attr string) CFNString { return CFNString{Fn: "GetAtt", Arg: id + "." + attr} }
func (s CFNString) IsZero() bool          { return s == CFNString{} }
func (s CFNString) String() string        { return strings.TrimPrefix(s.Fn+" "+s.Arg, " ") }
func cfnRefs(ids ...string) []CFNString   { return mapSlice(ids, cfnRef) }
func mapSlice[T, U any](v []T, f func(T) U) []U {
	out := make([]U, len(v))
	for i, x := range v {
		out[i] = f(x)
	}
	return out
}

// cfnSubIf is s as !Sub when it holds a placeholder (${AWS::AccountId}),
// else a literal.
func cfnSubIf(s string) CFNString {
	if strings.Contains(s, "${") {
		return CFNString{Fn: "Sub", Arg: s}
	}
	return cfnLit(s)
}

func (s CFNString) MarshalYAML() (any, error) {
	if s.Fn == "" {
		return s.Arg, nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!" + s.Fn, Value: s.Arg}, nil
}

func (s *CFNString) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode && (n.Tag == "!Ref" || n.Tag == "!GetAtt" || n.Tag == "!Sub"):
		*s = CFNString{Fn: n.Tag[1:], Arg: n.Value}
		return nil
	case n.Kind == yaml.ScalarNode:
		*s = cfnLit(n.Value)
		return nil
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		k, v := n.Content[0].Value, n.Content[1]
		switch {
		case k == "Ref" && v.Kind == yaml.ScalarNode:
			*s = cfnRef(v.Value)
			return nil
		case k == "Fn::Sub" && v.Kind == yaml.ScalarNode:
			*s = CFNString{Fn: "Sub", Arg: v.Value}
			return nil
		case k == "Fn::GetAtt" && v.Kind == yaml.SequenceNode && len(v.Content) == 2:
			*s = cfnGetAtt(v.Content[0].Value, v.Content[1].Value)
			return nil
		}
	}
	return fmt.Errorf("line %d: want a string, !Ref, !GetAtt or !Sub", n.Line)
}

// CFNJSON is a JSON-typed property (a policy document, an event pattern)
// as YAML, its keys in their JSON order; strings holding placeholders are
// !Sub.
type CFNJSON struct{ Node *yaml.Node }

func (j CFNJSON) MarshalYAML() (any, error) { return j.Node, nil }

func (j *CFNJSON) UnmarshalYAML(n *yaml.Node) error {
	j.Node = n
	return nil
}

// cfnJSONOf turns JSON into YAML nodes, keeping the order of keys.
func cfnJSONOf(raw []byte) (CFNJSON, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := jsonNode(dec)
	return CFNJSON{Node: n}, err
}

func mustCFNJSON(raw []byte) CFNJSON {
	j, err := cfnJSONOf(raw)
	if err != nil {
		panic(err) // evcli's own JSON (policies, validated patterns)
	}
	return j
}

func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: kt.(string)}, v)
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				v, err := jsonNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
			_, err := dec.Token()
			return n, err
		}
	case string:
		if strings.Contains(t, "${") {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Sub", Value: t}, nil
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(t.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// JSON is the property as compact JSON, keys in template order, with
// resolve spelling each !Sub (nil keeps it as written).
func (j CFNJSON) JSON(resolve func(CFNString) (string, error)) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeNodeJSON(&buf, j.Node, resolve); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeNodeJSON(w io.Writer, n *yaml.Node, resolve func(CFNString) (string, error)) error {
	if n == nil {
		_, err := io.WriteString(w, "null")
		return err
	}
	switch n.Kind {
	case yaml.DocumentNode:
		return writeNodeJSON(w, n.Content[0], resolve)
	case yaml.MappingNode:
		io.WriteString(w, "{")
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				io.WriteString(w, ",")
			}
			k, _ := json.Marshal(n.Content[i].Value)
			w.Write(k)
			io.WriteString(w, ":")
			if err := writeNodeJSON(w, n.Content[i+1], resolve); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "}")
		return err
	case yaml.SequenceNode:
		io.WriteString(w, "[")
		for i, c := range n.Content {
			if i > 0 {
				io.WriteString(w, ",")
			}
			if err := writeNodeJSON(w, c, resolve); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "]")
		return err
	case yaml.ScalarNode:
		v := n.Value
		switch n.ShortTag() {
		case "!!int", "!!float", "!!bool", "!!null":
			_, err := io.WriteString(w, v)
			return err
		case "!Sub", "!Ref", "!GetAtt":
			if resolve != nil {
				var err error
				if v, err = resolve(CFNString{Fn: n.Tag[1:], Arg: v}); err != nil {
					return err
				}
			}
		}
		b, _ := json.Marshal(v)
		_, err := w.Write(b)
		return err
	}
	return fmt.Errorf("line %d: not JSON", n.Line)
}

// CFNTag is a tag in CloudFormation's list form.
type CFNTag struct {
	Key   string `yaml:"Key"`
	Value string `yaml:"Value"`
}

// cfnTags is tags as a list sorted by key.
func cfnTags(tags map[string]string) []CFNTag {
	out := make([]CFNTag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, CFNTag{Key: k, Value: tags[k]})
	}
	return out
}

// LambdaSettings are the properties an AWS::Lambda::Function and an
// AWS::Serverless::Function share.
type LambdaSettings struct {
	FunctionName                 string          `yaml:"FunctionName"`
	Runtime                      string          `yaml:"Runtime"`
	Handler                      string          `yaml:"Handler"`
	Architectures                []string        `yaml:"Architectures,omitempty"`
	MemorySize                   int             `yaml:"MemorySize,omitempty"`
	Timeout                      int             `yaml:"Timeout,omitempty"`
	Role                         CFNString       `yaml:"Role"`
	ReservedConcurrentExecutions int             `yaml:"ReservedConcurrentExecutions,omitempty"`
	Environment                  *CFNEnvironment `yaml:"Environment,omitempty"`
}

// CFNFunction is an AWS::Lambda::Function.
type CFNFunction struct {
	LambdaSettings `yaml:",inline"`
	Code           CFNCode  `yaml:"Code"`
	Tags           []CFNTag `yaml:"Tags,omitempty"`
}

// SAMFunction is an AWS::Serverless::Function: the zip is a local path
// (sam deploy or aws cloudformation package uploads it) and SAM makes the
// version and the live alias.
type SAMFunction struct {
	LambdaSettings                `yaml:",inline"`
	CodeUri                       string            `yaml:"CodeUri"`
	AutoPublishAlias              string            `yaml:"AutoPublishAlias"`
	AutoPublishAliasAllProperties bool              `yaml:"AutoPublishAliasAllProperties,omitempty"`
	Tags                          map[string]string `yaml:"Tags,omitempty"`
}

// CFNCode points at a zip in S3.
type CFNCode struct {
	S3Bucket CFNString `yaml:"S3Bucket"`
	S3Key    string    `yaml:"S3Key"`
}

// CFNEnvironment holds a function's environment variables.
type CFNEnvironment struct {
	Variables map[string]CFNString `yaml:"Variables"`
}

// CFNVersion is an AWS::Lambda::Version: its Description carries a digest
// of the code and configuration, so a change publishes a new version.
type CFNVersion struct {
	FunctionName CFNString `yaml:"FunctionName"`
	Description  string    `yaml:"Description"`
}

// CFNAlias is an AWS::Lambda::Alias.
type CFNAlias struct {
	FunctionName    CFNString `yaml:"FunctionName"`
	FunctionVersion CFNString `yaml:"FunctionVersion"`
	Name            string    `yaml:"Name"`
	Description     string    `yaml:"Description,omitempty"`
}

// CFNPermission is an AWS::Lambda::Permission.
type CFNPermission struct {
	FunctionName CFNString `yaml:"FunctionName"`
	Action       string    `yaml:"Action"`
	Principal    string    `yaml:"Principal"`
	SourceArn    CFNString `yaml:"SourceArn"`
}

// CFNRole is an AWS::IAM::Role.
type CFNRole struct {
	RoleName                 string            `yaml:"RoleName"`
	Description              string            `yaml:"Description"`
	AssumeRolePolicyDocument CFNJSON           `yaml:"AssumeRolePolicyDocument"`
	ManagedPolicyArns        []CFNString       `yaml:"ManagedPolicyArns"`
	Policies                 []CFNInlinePolicy `yaml:"Policies"`
	Tags                     []CFNTag          `yaml:"Tags,omitempty"`
}

// CFNInlinePolicy is an inline policy of a role.
type CFNInlinePolicy struct {
	PolicyName     string  `yaml:"PolicyName"`
	PolicyDocument CFNJSON `yaml:"PolicyDocument"`
}

// CFNLogGroup is an AWS::Logs::LogGroup.
type CFNLogGroup struct {
	LogGroupName    string   `yaml:"LogGroupName"`
	RetentionInDays int      `yaml:"RetentionInDays"`
	Tags            []CFNTag `yaml:"Tags,omitempty"`
}

// CFNRule is an AWS::Events::Rule.
type CFNRule struct {
	Name         string      `yaml:"Name"`
	EventBusName CFNString   `yaml:"EventBusName,omitempty"`
	Description  string      `yaml:"Description"`
	EventPattern CFNJSON     `yaml:"EventPattern"`
	State        string      `yaml:"State"`
	Targets      []CFNTarget `yaml:"Targets"`
	Tags         []CFNTag    `yaml:"Tags,omitempty"`
}

// CFNTarget is a rule's target; RoleArn is the role EventBridge assumes
// (a state machine target needs one).
type CFNTarget struct {
	Id      string    `yaml:"Id"`
	Arn     CFNString `yaml:"Arn"`
	RoleArn CFNString `yaml:"RoleArn,omitempty"`
}

// CFNStateMachine is an AWS::StepFunctions::StateMachine.
type CFNStateMachine struct {
	StateMachineName     string         `yaml:"StateMachineName"`
	StateMachineType     string         `yaml:"StateMachineType"`
	DefinitionString     CFNString      `yaml:"DefinitionString"`
	RoleArn              CFNString      `yaml:"RoleArn"`
	LoggingConfiguration *CFNSFNLogging `yaml:"LoggingConfiguration,omitempty"`
	Tags                 []CFNTag       `yaml:"Tags,omitempty"`
}

// CFNSFNLogging is a state machine's logging configuration.
type CFNSFNLogging struct {
	Level                string              `yaml:"Level"`
	IncludeExecutionData bool                `yaml:"IncludeExecutionData"`
	Destinations         []CFNSFNDestination `yaml:"Destinations"`
}

// CFNSFNDestination is where a state machine logs.
type CFNSFNDestination struct {
	CloudWatchLogsLogGroup struct {
		LogGroupArn CFNString `yaml:"LogGroupArn"`
	} `yaml:"CloudWatchLogsLogGroup"`
}

// CFNBus is an AWS::Events::EventBus.
type CFNBus struct {
	Name string   `yaml:"Name"`
	Tags []CFNTag `yaml:"Tags,omitempty"`
}

// CFNTable is an AWS::DynamoDB::Table.
type CFNTable struct {
	TableName               string         `yaml:"TableName"`
	BillingMode             string         `yaml:"BillingMode"`
	AttributeDefinitions    []CFNAttribute `yaml:"AttributeDefinitions"`
	KeySchema               []CFNKey       `yaml:"KeySchema"`
	TimeToLiveSpecification *CFNTimeToLive `yaml:"TimeToLiveSpecification,omitempty"`
	Tags                    []CFNTag       `yaml:"Tags,omitempty"`
}

// CFNAttribute is a key attribute's definition.
type CFNAttribute struct {
	AttributeName string `yaml:"AttributeName"`
	AttributeType string `yaml:"AttributeType"`
}

// CFNKey is one element of a key schema.
type CFNKey struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// CFNTimeToLive enables TTL on an attribute.
type CFNTimeToLive struct {
	AttributeName string `yaml:"AttributeName"`
	Enabled       bool   `yaml:"Enabled"`
}

// ParseCFN reads a template evcli exported (CloudFormation or SAM).
func ParseCFN(b []byte) (*CFNTemplate, error) {
	var t CFNTemplate
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, err
	}
	return &t, nil
}

// marshalCFN writes t as YAML, indented by two.
func marshalCFN(t *CFNTemplate) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(t); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
