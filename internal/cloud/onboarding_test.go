package cloud

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// cfnTags accepts CloudFormation's short-form intrinsic functions (!Ref,
// !GetAtt) as plain values, as CloudFormation's own parser does.
type cfnNode struct{ v any }

func (n *cfnNode) UnmarshalYAML(node *yaml.Node) error {
	node.Tag = ""
	switch node.Kind {
	case yaml.MappingNode:
		m := map[string]*cfnNode{}
		if err := node.Decode(&m); err != nil {
			return err
		}
		out := map[string]any{}
		for k, v := range m {
			out[k] = v.v
		}
		n.v = out
	case yaml.SequenceNode:
		var l []*cfnNode
		if err := node.Decode(&l); err != nil {
			return err
		}
		out := []any{}
		for _, v := range l {
			out = append(out, v.v)
		}
		n.v = out
	default:
		return node.Decode(&n.v)
	}
	return nil
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestOnboardingTemplates(t *testing.T) {
	a := Account{Provider: "aws", AccountUID: "111122223333", CredentialType: "assume_role", ExternalID: `cspm-ext-"quoted"-id`}
	kit, err := OnboardingFor(a)
	if err != nil {
		t.Fatal(err)
	}
	if kit.RoleARN != "arn:aws:iam::111122223333:role/"+OnboardingRoleName {
		t.Errorf("role ARN %s", kit.RoleARN)
	}
	var doc cfnNode
	if err := yaml.Unmarshal([]byte(kit.CloudFormation), &doc); err != nil {
		t.Fatalf("the CloudFormation template is not YAML: %v\n%s", err, kit.CloudFormation)
	}
	role := dig(doc.v, "Resources", "ScanRole", "Properties")
	trust := dig(role, "AssumeRolePolicyDocument", "Statement", 0)
	if got := dig(trust, "Condition", "StringEquals", "sts:ExternalId"); got != a.ExternalID {
		t.Errorf("trust policy's external ID %v, want %q", got, a.ExternalID)
	}
	if got := dig(trust, "Principal", "AWS"); got != "TrustedPrincipalArn" {
		t.Errorf("trusted principal %v, want the parameter", got)
	}
	if got := dig(role, "ManagedPolicyArns"); len(got.([]any)) != 2 || got.([]any)[0] != "arn:aws:iam::aws:policy/SecurityAudit" {
		t.Errorf("managed policies %v", got)
	}
	actions, _ := dig(role, "Policies", 0, "PolicyDocument", "Statement", 0, "Action").([]any)
	if len(actions) != len(prowlerReadActions) {
		t.Errorf("%d additional actions in the template, want %d", len(actions), len(prowlerReadActions))
	}
	// Read-only: every action reads, describes or lists.
	for _, act := range append(slices.Clone(prowlerReadActions), "apigateway:GET") {
		verb := act[strings.Index(act, ":")+1:]
		if !slices.ContainsFunc([]string{"Get", "Describe", "List", "BatchGet", "Search", "Filter", "GET"}, func(p string) bool { return strings.HasPrefix(verb, p) }) {
			t.Errorf("%s is not read-only", act)
		}
	}

	tf := kit.Terraform
	for _, want := range []string{`variable "trusted_principal_arn"`, `"sts:ExternalId" = "cspm-ext-\"quoted\"-id"`, `"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",`,
		`"wellarchitected:List*",`, `output "role_arn"`} {
		if !strings.Contains(tf, want) {
			t.Errorf("the Terraform lacks %s", want)
		}
	}
	if strings.Count(tf, "{") != strings.Count(tf, "}") || strings.Count(tf, "[") != strings.Count(tf, "]") {
		t.Errorf("the Terraform's brackets do not balance:\n%s", tf)
	}
}

func TestOnboardingRefusesWhatItCannotTemplate(t *testing.T) {
	for name, a := range map[string]Account{
		"gcp":          {Provider: "gcp", AccountUID: "proj", CredentialType: "service_account"},
		"access keys":  {Provider: "aws", AccountUID: "111122223333", CredentialType: "access_keys"},
		"bad account":  {Provider: "aws", AccountUID: "1111", CredentialType: "assume_role", ExternalID: "x"},
		"no externals": {Provider: "aws", AccountUID: "111122223333", CredentialType: "assume_role"},
	} {
		if _, err := OnboardingFor(a); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
