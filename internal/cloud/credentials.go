package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Providers.
const (
	AWS   = "aws"
	GCP   = "gcp"
	Azure = "azure"
)

// Credential types, as the API names them.
const (
	CredAccessKeys     = "access_keys"     // AWS: access key ID and secret (and a session token)
	CredAssumeRole     = "assume_role"     // AWS: a role ARN with an external ID, assumed from the worker's identity
	CredWorkerIdentity = "worker_identity" // AWS: the worker's own identity (instance profile, IRSA, environment)
	CredServiceAccount = "service_account" // GCP: a service-account key (JSON)
	CredClientSecret   = "client_secret"   // Azure: a service principal's tenant, client ID and secret
)

// Credentials is what a scan authenticates with. The secret fields are
// sealed at rest and never leave the server through the API: the account's
// JSON shows Type and a hint only.
type Credentials struct {
	Type string `json:"type" enum:"access_keys,assume_role,worker_identity,service_account,client_secret"`

	AccessKeyID     string `json:"access_key_id,omitempty" maxLength:"128"`
	SecretAccessKey string `json:"secret_access_key,omitempty" maxLength:"256"`
	SessionToken    string `json:"session_token,omitempty" maxLength:"4096"`

	RoleARN    string `json:"role_arn,omitempty" maxLength:"2048"`
	ExternalID string `json:"external_id,omitempty" maxLength:"1224"`

	ServiceAccountJSON string `json:"service_account_json,omitempty" maxLength:"16384" doc:"The key file's content."`

	TenantID     string `json:"tenant_id,omitempty" maxLength:"64"`
	ClientID     string `json:"client_id,omitempty" maxLength:"64"`
	ClientSecret string `json:"client_secret,omitempty" maxLength:"1024"`
}

// Secrets lists the values that must never appear in an answer, a log line
// or an error message; runners redact them from what tools print.
func (c Credentials) Secrets() []string {
	var out []string
	for _, s := range []string{c.SecretAccessKey, c.SessionToken, c.ClientSecret, c.ExternalID} {
		if s != "" {
			out = append(out, s)
		}
	}
	if c.ServiceAccountJSON != "" {
		var sa struct {
			PrivateKey   string `json:"private_key"`
			PrivateKeyID string `json:"private_key_id"`
		}
		if json.Unmarshal([]byte(c.ServiceAccountJSON), &sa) == nil {
			for _, s := range []string{sa.PrivateKey, sa.PrivateKeyID} {
				if s != "" {
					out = append(out, s)
				}
			}
		}
		out = append(out, c.ServiceAccountJSON)
	}
	return out
}

// Hint is a non-secret reminder of which credential this is: the last four
// characters of the access key ID, the role ARN, the service account's
// email, the client ID.
func (c Credentials) Hint() string {
	switch c.Type {
	case CredAccessKeys:
		if len(c.AccessKeyID) > 4 {
			return "…" + c.AccessKeyID[len(c.AccessKeyID)-4:]
		}
	case CredAssumeRole:
		return c.RoleARN
	case CredServiceAccount:
		var sa struct {
			ClientEmail string `json:"client_email"`
		}
		_ = json.Unmarshal([]byte(c.ServiceAccountJSON), &sa)
		return sa.ClientEmail
	case CredClientSecret:
		return c.ClientID
	}
	return ""
}

// ErrInvalid wraps every validation failure; the API answers it with 422.
var ErrInvalid = errors.New("invalid")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

var (
	awsAccountRE    = regexp.MustCompile(`^\d{12}$`)
	gcpProjectRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	uuidRE          = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	awsRegionRE     = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$`)
	awsAccessKeyRE  = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	awsRoleARNRE    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	externalIDRE    = regexp.MustCompile(`^[\w+=,.@:/-]{2,1000}$`)
	azureLocationRE = regexp.MustCompile(`^[a-z0-9]{2,40}$`)
	gcpRegionRE     = regexp.MustCompile(`^[a-z]+-[a-z]+\d{1,2}$`)
)

// ValidateAccountUID checks the account identifier's shape for the provider.
func ValidateAccountUID(provider, uid string) error {
	switch provider {
	case AWS:
		if !awsAccountRE.MatchString(uid) {
			return invalid("an AWS account ID is 12 digits")
		}
	case GCP:
		if !gcpProjectRE.MatchString(uid) {
			return invalid("a GCP project ID is 6 to 30 lowercase letters, digits and hyphens, starting with a letter")
		}
	case Azure:
		if !uuidRE.MatchString(uid) {
			return invalid("an Azure subscription ID is a UUID")
		}
	default:
		return invalid("provider must be aws, gcp or azure")
	}
	return nil
}

// ValidateRegion checks a region name's shape for the provider. Regions
// reach a scanner's argument vector, so the shapes are strict.
func ValidateRegion(provider, region string) error {
	ok := false
	switch provider {
	case AWS:
		ok = awsRegionRE.MatchString(region)
	case GCP:
		ok = gcpRegionRE.MatchString(region)
	case Azure:
		ok = azureLocationRE.MatchString(region)
	}
	if !ok {
		return invalid("%q is not a %s region", region, provider)
	}
	return nil
}

// Validate checks the credentials against the provider.
func (c Credentials) Validate(provider string) error {
	want := map[string][]string{
		AWS:   {CredAccessKeys, CredAssumeRole, CredWorkerIdentity},
		GCP:   {CredServiceAccount},
		Azure: {CredClientSecret},
	}[provider]
	found := false
	for _, t := range want {
		found = found || t == c.Type
	}
	if !found {
		return invalid("credentials.type for %s must be one of %s", provider, strings.Join(want, ", "))
	}
	switch c.Type {
	case CredAccessKeys:
		if !awsAccessKeyRE.MatchString(c.AccessKeyID) || c.SecretAccessKey == "" {
			return invalid("access_keys needs access_key_id (uppercase letters and digits) and secret_access_key")
		}
	case CredAssumeRole:
		if !awsRoleARNRE.MatchString(c.RoleARN) {
			return invalid("role_arn must be an IAM role ARN (arn:aws:iam::123456789012:role/Name)")
		}
		if c.ExternalID != "" && !externalIDRE.MatchString(c.ExternalID) {
			return invalid("external_id has characters AWS does not allow")
		}
	case CredServiceAccount:
		var sa struct {
			Type        string `json:"type"`
			ClientEmail string `json:"client_email"`
			PrivateKey  string `json:"private_key"`
		}
		if err := json.Unmarshal([]byte(c.ServiceAccountJSON), &sa); err != nil || sa.Type != "service_account" ||
			sa.ClientEmail == "" || !strings.Contains(sa.PrivateKey, "PRIVATE KEY") {
			return invalid("service_account_json must be a service-account key file (type service_account, client_email, private_key)")
		}
	case CredClientSecret:
		if !uuidRE.MatchString(c.TenantID) || !uuidRE.MatchString(c.ClientID) || c.ClientSecret == "" {
			return invalid("client_secret needs tenant_id and client_id (UUIDs) and client_secret")
		}
	}
	return nil
}
