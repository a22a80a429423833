package cloud

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The read-only permissions Prowler documents for an AWS scan: the two AWS
// managed policies, and its additions policy for the checks they do not
// cover (prowler-cloud/prowler, permissions/prowler-additions-policy.json).
// securityhub:BatchImportFindings is left out: it writes, and this platform
// reads Security Hub only through its own imports.
var (
	prowlerManagedPolicies = []string{
		"arn:aws:iam::aws:policy/SecurityAudit",
		"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
	}
	prowlerReadActions = []string{
		"account:Get*", "appstream:Describe*", "appstream:List*", "backup:List*", "backup:Get*", "bedrock:List*", "bedrock:Get*",
		"cloudtrail:GetInsightSelectors", "codeartifact:List*", "codebuild:BatchGet*", "codebuild:ListReportGroups",
		"cognito-idp:GetUserPoolMfaConfig", "datapipeline:DescribePipelines", "datapipeline:GetPipelineDefinition",
		"datapipeline:ListPipelines", "dlm:Get*", "drs:Describe*", "ds:Get*", "ds:Describe*", "ds:List*", "dynamodb:GetResourcePolicy",
		"ec2:GetEbsEncryptionByDefault", "ec2:GetSnapshotBlockPublicAccessState", "ec2:GetInstanceMetadataDefaults", "ecr:Describe*",
		"ecr:GetRegistryScanningConfiguration", "elasticfilesystem:DescribeBackupPolicy", "glue:GetConnections",
		"glue:GetSecurityConfiguration*", "glue:SearchTables", "glue:GetMLTransforms", "lambda:GetFunction*", "logs:FilterLogEvents",
		"lightsail:GetRelationalDatabases", "macie2:GetMacieSession", "macie2:GetAutomatedDiscoveryConfiguration",
		"rolesanywhere:ListTagsForResource", "rolesanywhere:ListTrustAnchors", "s3:GetAccountPublicAccessBlock", "s3:GetObjectAcl",
		"s3:ListBucket", "shield:DescribeProtection", "shield:GetSubscriptionState", "securityhub:GetFindings",
		"servicecatalog:Describe*", "servicecatalog:List*", "ssm:GetDocument", "ssm-incidents:List*", "states:ListTagsForResource",
		"support:Describe*", "tag:GetTagKeys", "wellarchitected:List*",
	}
	prowlerAPIGatewayResources = []string{
		"arn:*:apigateway:*::/restapis/*", "arn:*:apigateway:*::/apis/*", "arn:*:apigateway:*::/domainnames", "arn:*:apigateway:*::/domainnames/*",
	}
)

// OnboardingRoleName is the role the templates create.
const OnboardingRoleName = "OffloadSecurityCSPMScan"

// Onboarding is what an AWS account's owner deploys so that the platform can
// scan it: a read-only role that trusts the platform's principal and
// requires the account's external ID, as a CloudFormation template and as
// Terraform.
type Onboarding struct {
	ExternalID      string   `json:"external_id" doc:"The external ID the role's trust policy requires (sts:ExternalId)."`
	RoleName        string   `json:"role_name"`
	RoleARN         string   `json:"role_arn" doc:"The ARN the role will have, to enter as the account's role ARN."`
	ManagedPolicies []string `json:"managed_policies"`
	ReadActions     []string `json:"read_actions" doc:"The additional read-only actions Prowler documents."`
	CloudFormation  string   `json:"cloudformation" doc:"A CloudFormation template (YAML); its one parameter is the platform's principal ARN."`
	Terraform       string   `json:"terraform" doc:"The same role as Terraform (hashicorp/aws); its one variable is the platform's principal ARN."`
}

var awsAccountID = regexp.MustCompile(`^\d{12}$`)

// OnboardingFor builds the kit of an AWS account that scans through an
// assumed role; the external ID is the one the platform chose for it.
func OnboardingFor(a Account) (Onboarding, error) {
	if a.Provider != "aws" {
		return Onboarding{}, fmt.Errorf("%w: role templates are for AWS accounts; this one is %s", ErrInvalid, a.Provider)
	}
	if a.CredentialType != "assume_role" || a.ExternalID == "" {
		return Onboarding{}, fmt.Errorf("%w: the account does not scan through an assumed role; change its credentials to assume_role first", ErrInvalid)
	}
	if !awsAccountID.MatchString(a.AccountUID) {
		return Onboarding{}, fmt.Errorf("%w: %q is not a 12-digit AWS account ID", ErrInvalid, a.AccountUID)
	}
	o := Onboarding{ExternalID: a.ExternalID, RoleName: OnboardingRoleName, RoleARN: "arn:aws:iam::" + a.AccountUID + ":role/" + OnboardingRoleName,
		ManagedPolicies: prowlerManagedPolicies, ReadActions: prowlerReadActions}
	o.CloudFormation = cloudFormation(a)
	o.Terraform = terraform(a)
	return o, nil
}

// quoted is s as a double-quoted string, valid in YAML and HCL alike (JSON
// string syntax; the values here are ASCII without "${" sequences).
func quoted(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func yamlList(indent string, items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(indent + "- " + quoted(it) + "\n")
	}
	return b.String()
}

func hclList(indent string, items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(indent + quoted(it) + ",\n")
	}
	return b.String()
}

func cloudFormation(a Account) string {
	return `AWSTemplateFormatVersion: "2010-09-09"
Description: Read-only role for OffloadSecurity CSPM to scan AWS account ` + a.AccountUID + ` with Prowler
Parameters:
  TrustedPrincipalArn:
    Type: String
    Description: The ARN of the IAM role or user the platform's workers run as (the principal that assumes this role).
    AllowedPattern: "^arn:aws[a-z-]*:iam::\\d{12}:(role|user|root).*$"
Resources:
  ScanRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: ` + OnboardingRoleName + `
      MaxSessionDuration: 3600
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              AWS: !Ref TrustedPrincipalArn
            Action: sts:AssumeRole
            Condition:
              StringEquals:
                sts:ExternalId: ` + quoted(a.ExternalID) + `
      ManagedPolicyArns:
` + yamlList("        ", prowlerManagedPolicies) + `      Policies:
        - PolicyName: ProwlerAdditions
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: AllowMoreReadOnly
                Effect: Allow
                Resource: "*"
                Action:
` + yamlList("                  ", prowlerReadActions) + `              - Sid: AllowAPIGatewayReadOnly
                Effect: Allow
                Action: apigateway:GET
                Resource:
` + yamlList("                  ", prowlerAPIGatewayResources) + `Outputs:
  RoleArn:
    Description: Enter this as the account's role ARN in the platform, then test the connection.
    Value: !GetAtt ScanRole.Arn
`
}

func terraform(a Account) string {
	return `# Read-only role for OffloadSecurity CSPM to scan AWS account ` + a.AccountUID + ` with Prowler.
variable "trusted_principal_arn" {
  type        = string
  description = "The ARN of the IAM role or user the platform's workers run as (the principal that assumes this role)."
}

resource "aws_iam_role" "cspm_scan" {
  name                 = ` + quoted(OnboardingRoleName) + `
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = var.trusted_principal_arn }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = ` + quoted(a.ExternalID) + ` } }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "cspm_scan_managed" {
  for_each   = toset([
` + hclList("    ", prowlerManagedPolicies) + `  ])
  role       = aws_iam_role.cspm_scan.name
  policy_arn = each.value
}

resource "aws_iam_role_policy" "cspm_scan_prowler_additions" {
  name = "ProwlerAdditions"
  role = aws_iam_role.cspm_scan.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "AllowMoreReadOnly"
        Effect   = "Allow"
        Resource = "*"
        Action = [
` + hclList("          ", prowlerReadActions) + `        ]
      },
      {
        Sid    = "AllowAPIGatewayReadOnly"
        Effect = "Allow"
        Action = "apigateway:GET"
        Resource = [
` + hclList("          ", prowlerAPIGatewayResources) + `        ]
      },
    ]
  })
}

output "role_arn" {
  description = "Enter this as the account's role ARN in the platform, then test the connection."
  value       = aws_iam_role.cspm_scan.arn
}
`
}
