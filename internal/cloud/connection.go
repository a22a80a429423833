package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Endpoints are where connection tests go. Empty fields mean the
// providers' public endpoints; tests and private clouds set them.
type Endpoints struct {
	AWSEndpointURL     string // STS, e.g. http://127.0.0.1:4566
	AzureAuthorityHost string // default https://login.microsoftonline.com
	// GCPTokenURL is the one token endpoint a service-account key may name
	// (default Google's): the key's token_uri is the user's input, and the
	// server must not post to an address of the user's choosing.
	GCPTokenURL string
	HTTPClient  *http.Client
}

// DefaultGCPTokenURL is Google's OAuth 2.0 token endpoint.
const DefaultGCPTokenURL = "https://oauth2.googleapis.com/token" //nolint:gosec // G101: an endpoint, not a credential

// TestConnection checks an account's credentials against its provider and
// records the outcome on the account. A refused credential is a result
// (OK false with the provider's reason), not an error; the detail never
// holds a secret.
func (s *Service) TestConnection(ctx context.Context, teamID, accountID string) (TestResult, error) {
	acct, creds, err := s.CredentialsOpen(ctx, teamID, accountID)
	if err != nil {
		return TestResult{}, err
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var detail string
	switch acct.Provider {
	case AWS:
		detail, err = s.testAWS(tctx, acct, creds)
	case GCP:
		detail, err = s.testGCP(tctx, creds)
	case Azure:
		detail, err = s.testAzure(tctx, creds)
	default:
		err = fmt.Errorf("unknown provider %q", acct.Provider)
	}
	res := TestResult{At: s.now().UTC(), OK: err == nil, Detail: detail}
	if err != nil {
		res.Detail = redactAll(err.Error(), creds.Secrets())
	}
	if len(res.Detail) > 500 {
		res.Detail = res.Detail[:500] + "…"
	}
	return res, s.TestResultSet(ctx, teamID, accountID, res)
}

// unreachable says why err is a failure to reach the provider (a DNS
// failure, a refused or reset connection, a timeout), or "" when the
// provider answered: a network failure is never reported as refused
// credentials.
func unreachable(err error) string {
	if err == nil {
		return ""
	}
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &dns):
		return "DNS resolution of " + dns.Name + " failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.As(err, &op):
		return "the connection failed"
	}
	return ""
}

func redactAll(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

func (s *Service) httpClient() *http.Client {
	if s.Endpoints.HTTPClient != nil {
		return s.Endpoints.HTTPClient
	}
	return &http.Client{Timeout: 20 * time.Second}
}

// testAWS calls STS GetCallerIdentity, after AssumeRole for a role, and
// checks that the identity belongs to the registered account.
func (s *Service) testAWS(ctx context.Context, acct Account, c Credentials) (string, error) {
	region := "us-east-1"
	if len(acct.Regions) > 0 {
		region = acct.Regions[0]
	}
	var cfg aws.Config
	switch c.Type {
	case CredAccessKeys:
		cfg = aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)}
	default: // the worker's own identity, from which a role is assumed
		var err error
		if cfg, err = awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region)); err != nil {
			return "", fmt.Errorf("the worker's AWS identity: %w", err)
		}
	}
	cfg.HTTPClient = s.httpClient()
	endpoint := func(o *sts.Options) {
		if s.Endpoints.AWSEndpointURL != "" {
			o.BaseEndpoint = aws.String(s.Endpoints.AWSEndpointURL)
		}
	}
	if c.Type == CredAssumeRole {
		base := sts.NewFromConfig(cfg, endpoint)
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(base, c.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "cspm-connection-test"
			if c.ExternalID != "" {
				o.ExternalID = aws.String(c.ExternalID)
			}
		}))
	}
	out, err := sts.NewFromConfig(cfg, endpoint).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if why := unreachable(err); why != "" {
		return "", fmt.Errorf("cannot reach AWS STS (%s); the credentials were not checked: %w", why, err)
	}
	if err != nil {
		return "", fmt.Errorf("AWS refused the credentials: %w", err)
	}
	if got := aws.ToString(out.Account); got != acct.AccountUID {
		return "", fmt.Errorf("the credentials belong to account %s, not %s", got, acct.AccountUID)
	}
	return "authenticated as " + aws.ToString(out.Arn), nil
}

// testGCP exchanges a JWT signed with the service account's key for a
// token, at the key file's token_uri.
func (s *Service) testGCP(ctx context.Context, c Credentials) (string, error) {
	conf, err := google.JWTConfigFromJSON([]byte(c.ServiceAccountJSON), "https://www.googleapis.com/auth/cloud-platform.read-only")
	if err != nil {
		return "", fmt.Errorf("the service-account key: %w", err)
	}
	allowed := s.Endpoints.GCPTokenURL
	if allowed == "" {
		allowed = DefaultGCPTokenURL
	}
	if conf.TokenURL != "" && conf.TokenURL != allowed {
		return "", fmt.Errorf("the key's token_uri is not %s; refusing to send a signed assertion elsewhere", allowed)
	}
	conf.TokenURL = allowed
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.httpClient())
	if _, err := conf.TokenSource(ctx).Token(); err != nil {
		if why := unreachable(err); why != "" {
			return "", fmt.Errorf("cannot reach Google's token endpoint (%s); the key was not checked: %w", why, err)
		}
		return "", fmt.Errorf("google refused the service account: %w", err)
	}
	return "authenticated as " + conf.Email, nil
}

// testAzure asks Microsoft Entra ID for a management token with the
// service principal's secret (the OAuth 2.0 client-credentials grant).
func (s *Service) testAzure(ctx context.Context, c Credentials) (string, error) {
	host := strings.TrimRight(s.Endpoints.AzureAuthorityHost, "/")
	if host == "" {
		host = "https://login.microsoftonline.com"
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"scope": {"https://management.azure.com/.default"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, host+"/"+url.PathEscape(c.TenantID)+"/oauth2/v2.0/token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.httpClient().Do(req)
	if err != nil {
		if why := unreachable(err); why != "" {
			return "", fmt.Errorf("cannot reach Microsoft Entra ID (%s): %w", why, err)
		}
		return "", fmt.Errorf("cannot reach Microsoft Entra ID: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&body); err != nil {
		return "", fmt.Errorf("the Microsoft Entra ID token endpoint answered %d without JSON", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		desc, _, _ := strings.Cut(body.Description, "\r\n")
		return "", errors.New("Microsoft Entra ID refused the service principal: " + strings.TrimSpace(body.Error+" "+desc))
	}
	return "authenticated as client " + c.ClientID, nil
}
