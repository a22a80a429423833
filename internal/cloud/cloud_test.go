package cloud_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/offloadsecurity/cspm/internal/cloud"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"

func newBox(t testing.TB) *secrets.Box {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	b, err := secrets.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func awsParams() cloud.AccountParams {
	return cloud.AccountParams{Provider: "aws", AccountUID: "111122223333", Alias: "prod", Regions: []string{"us-east-1", "eu-west-1", "us-east-1"},
		Tags:        map[string]string{"env": "prod"},
		Credentials: &cloud.Credentials{Type: cloud.CredAccessKeys, AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: secretKey}}
}

func TestAccountStore(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		s := cloud.New(reg, newBox(t))
		a, err := s.AccountCreate(ctx, "team-a", "admin@example.com", awsParams())
		if err != nil {
			t.Fatal(err)
		}
		if a.CredentialType != "access_keys" || a.CredentialHint != "…MPLE" || strings.Join(a.Regions, ",") != "eu-west-1,us-east-1" || a.Tags["env"] != "prod" {
			t.Fatalf("account %+v", a)
		}
		// The API's view holds no credential.
		out, _ := json.Marshal(a)
		if strings.Contains(string(out), secretKey) || strings.Contains(string(out), "AKIAIOSFODNN7EXAMPLE") {
			t.Fatalf("account JSON shows credentials: %s", out)
		}
		// Stored sealed, not in plain text.
		var stored string
		if err := reg.Get(db.Platform).AsSystem(ctx, func(q db.Querier) error {
			return q.QueryRowContext(ctx, "SELECT credentials FROM cloud_accounts WHERE id = $1", a.ID).Scan(&stored)
		}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, secretKey) || !strings.HasPrefix(stored, "v1:") {
			t.Fatalf("stored credentials %q", stored)
		}
		_, creds, err := s.CredentialsOpen(ctx, "team-a", a.ID)
		if err != nil || creds.SecretAccessKey != secretKey {
			t.Fatalf("open: %v", err)
		}
		// Another team may register the same account; the same team may not twice.
		b, err := s.AccountCreate(ctx, "team-b", "other@example.com", awsParams())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AccountCreate(ctx, "team-a", "admin@example.com", awsParams()); !errors.Is(err, db.ErrConflict) {
			t.Fatalf("duplicate in team: %v", err)
		}
		// A sealed value is bound to its row: team B's ciphertext copied onto team A's account does not open.
		if err := reg.Get(db.Platform).AsSystem(ctx, func(q db.Querier) error {
			_, err := q.ExecContext(ctx, "UPDATE cloud_accounts SET credentials = (SELECT credentials FROM cloud_accounts WHERE id = $1) WHERE id = $2", b.ID, a.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CredentialsOpen(ctx, "team-a", a.ID); !errors.Is(err, secrets.ErrOpen) || strings.Contains(err.Error(), secretKey) {
			t.Fatalf("copied ciphertext: %v", err)
		}
		// Team isolation.
		if _, err := s.AccountGet(ctx, "team-b", a.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("team B read team A's account: %v", err)
		}
		if _, _, err := s.CredentialsOpen(ctx, "team-b", a.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("team B opened team A's credentials: %v", err)
		}
		if list, _ := s.AccountList(ctx, "team-b"); len(list) != 1 || list[0].ID != b.ID {
			t.Fatalf("team B's list %+v", list)
		}
		// Update: alias and regions change, credentials are replaced only when given.
		alias := "production"
		u, err := s.AccountUpdate(ctx, "team-a", a.ID, cloud.AccountChange{Alias: &alias, Regions: []string{"eu-central-1"},
			Credentials: &cloud.Credentials{Type: cloud.CredAssumeRole, RoleARN: "arn:aws:iam::111122223333:role/Audit"}})
		if err != nil || u.Alias != "production" || u.Regions[0] != "eu-central-1" || u.CredentialType != "assume_role" || u.CredentialHint != "arn:aws:iam::111122223333:role/Audit" {
			t.Fatalf("update %+v %v", u, err)
		}
		if _, err := s.AccountUpdate(ctx, "team-a", a.ID, cloud.AccountChange{Regions: []string{"mars-1"}}); !errors.Is(err, cloud.ErrInvalid) {
			t.Fatalf("bad region: %v", err)
		}
		if err := s.AccountDelete(ctx, "team-b", a.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("team B deleted team A's account: %v", err)
		}
		if err := s.AccountDelete(ctx, "team-a", a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AccountGet(ctx, "team-a", a.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatal("deleted account still there")
		}
	})
}

func TestAccountValidation(t *testing.T) {
	t.Parallel()
	s := cloud.New(dbtest.Open(t, dbtest.Engine{Name: "sqlite"}), newBox(t))
	ctx := context.Background()
	bad := map[string]cloud.AccountParams{
		"short account":    {Provider: "aws", AccountUID: "1234", Credentials: &cloud.Credentials{Type: "worker_identity"}},
		"unknown provider": {Provider: "oci", AccountUID: "x", Credentials: &cloud.Credentials{Type: "worker_identity"}},
		"gcp with keys":    {Provider: "gcp", AccountUID: "my-project-1", Credentials: &cloud.Credentials{Type: "access_keys", AccessKeyID: "AKIAX", SecretAccessKey: "y"}},
		"bad sa json":      {Provider: "gcp", AccountUID: "my-project-1", Credentials: &cloud.Credentials{Type: "service_account", ServiceAccountJSON: `{"type":"user"}`}},
		"azure not uuid":   {Provider: "azure", AccountUID: "sub-1", Credentials: &cloud.Credentials{Type: "client_secret"}},
		"no credentials":   {Provider: "aws", AccountUID: "111122223333"},
		"bad role":         {Provider: "aws", AccountUID: "111122223333", Credentials: &cloud.Credentials{Type: "assume_role", RoleARN: "role/x"}},
		"option region":    {Provider: "aws", AccountUID: "111122223333", Regions: []string{"--profile"}, Credentials: &cloud.Credentials{Type: "worker_identity"}},
	}
	for name, p := range bad {
		if _, err := s.AccountCreate(ctx, "t", "a", p); !errors.Is(err, cloud.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.AccountCreate(ctx, "t", "a", cloud.AccountParams{Provider: "azure", AccountUID: "8f1c7c2e-2f4b-4c39-9a4e-0d5c1c1b2a3d",
		Regions: []string{"westeurope"}, Credentials: &cloud.Credentials{Type: "client_secret", TenantID: "0d5c1c1b-2a3d-4c39-9a4e-8f1c7c2e2f4b",
			ClientID: "2f4b0d5c-1c1b-4c39-9a4e-8f1c7c2e2a3d", ClientSecret: "s"}}); err != nil {
		t.Fatalf("azure: %v", err)
	}
}

// Rotating the key re-seals every credential; the old key opens none after.
func TestReseal(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	oldBox, newKeyBox := newBox(t), newBox(t)
	ctx := context.Background()
	a, err := cloud.New(reg, oldBox).AccountCreate(ctx, "t", "a", awsParams())
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = reg.Get(db.Platform).AsSystem(ctx, func(q db.Querier) error {
		n, err = cloud.ResealTx(ctx, q, oldBox, newKeyBox)
		return err
	})
	if err != nil || n != 1 {
		t.Fatalf("reseal %d %v", n, err)
	}
	if _, c, err := cloud.New(reg, newKeyBox).CredentialsOpen(ctx, "t", a.ID); err != nil || c.SecretAccessKey != secretKey {
		t.Fatalf("new key: %v", err)
	}
	if _, _, err := cloud.New(reg, oldBox).CredentialsOpen(ctx, "t", a.ID); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("old key still opens: %v", err)
	}
}

// stsServer answers STS's query protocol as AWS does: XML bodies, errors
// as ErrorResponse with a 403.
// stsServer answers as STS; an AssumeRole must carry the external ID that
// externalID holds when it arrives.
func stsServer(t *testing.T, account string, calls *atomic.Int32, externalID *atomic.Value) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "text/xml")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") {
			w.WriteHeader(400)
			return
		}
		switch {
		case form.Get("Action") == "AssumeRole":
			if want, _ := externalID.Load().(string); want == "" || form.Get("ExternalId") != want {
				w.WriteHeader(403)
				fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
				return
			}
			fmt.Fprint(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLEKEY00000001</AccessKeyId><SecretAccessKey>rolesecret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::`+account+`:assumed-role/Audit/cspm</Arn><AssumedRoleId>AROA1:cspm</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></AssumeRoleResponse>`)
		case form.Get("Action") == "GetCallerIdentity":
			if strings.Contains(auth, "Credential=AKIABADKEY") {
				w.WriteHeader(403)
				fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>r3</RequestId></ErrorResponse>`)
				return
			}
			arn := "arn:aws:iam::" + account + ":user/scanner"
			if strings.Contains(auth, "Credential=ASIAROLEKEY") {
				arn = "arn:aws:sts::" + account + ":assumed-role/Audit/cspm"
			}
			fmt.Fprint(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>`+arn+`</Arn><UserId>AIDA1</UserId><Account>`+account+`</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r4</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
		default:
			w.WriteHeader(400)
		}
	}))
}

func TestConnectionAWS(t *testing.T) {
	// Not parallel: the worker's own identity comes from the environment.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAWORKERIDENTITY01")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "worker-secret")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	var calls atomic.Int32
	var externalID atomic.Value
	srv := stsServer(t, "111122223333", &calls, &externalID)
	defer srv.Close()
	ctx := context.Background()
	s := cloud.New(dbtest.Open(t, dbtest.Engine{Name: "sqlite"}), newBox(t))
	s.Endpoints = cloud.Endpoints{AWSEndpointURL: srv.URL}

	good, err := s.AccountCreate(ctx, "t", "a", awsParams())
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.TestConnection(ctx, "t", good.ID)
	if err != nil || !res.OK || !strings.Contains(res.Detail, "arn:aws:iam::111122223333:user/scanner") {
		t.Fatalf("good keys: %+v %v", res, err)
	}
	if a, _ := s.AccountGet(ctx, "t", good.ID); a.LastTest == nil || !a.LastTest.OK {
		t.Fatalf("outcome not kept: %+v", a.LastTest)
	}

	p := awsParams()
	p.AccountUID = "444455556666"
	p.Credentials = &cloud.Credentials{Type: cloud.CredAccessKeys, AccessKeyID: "AKIABADKEY0000000001", SecretAccessKey: secretKey}
	bad, err := s.AccountCreate(ctx, "t", "a", p)
	if err != nil {
		t.Fatal(err)
	}
	res, err = s.TestConnection(ctx, "t", bad.ID)
	if err != nil || res.OK || !strings.Contains(res.Detail, "InvalidClientTokenId") || strings.Contains(res.Detail, secretKey) {
		t.Fatalf("bad keys: %+v %v", res, err)
	}

	// Keys of another account than the registered one are refused.
	p.AccountUID, p.Credentials = "777788889999", &cloud.Credentials{Type: cloud.CredAccessKeys, AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: secretKey}
	other, _ := s.AccountCreate(ctx, "t", "a", p)
	if res, _ = s.TestConnection(ctx, "t", other.ID); res.OK || !strings.Contains(res.Detail, "belong to account 111122223333") {
		t.Fatalf("wrong account: %+v", res)
	}

	// A role is assumed from the worker's identity, with the external ID.
	p.AccountUID = "111122223333"
	p.Credentials = &cloud.Credentials{Type: cloud.CredAssumeRole, RoleARN: "arn:aws:iam::111122223333:role/Audit"}
	s2 := cloud.New(dbtest.Open(t, dbtest.Engine{Name: "sqlite"}), newBox(t))
	s2.Endpoints = s.Endpoints
	ra, err := s2.AccountCreate(ctx, "t", "a", p)
	if err != nil {
		t.Fatal(err)
	}
	// The platform chose the external ID; the trust policy requires it.
	if !strings.HasPrefix(ra.ExternalID, "cspm-") {
		t.Fatalf("external ID %q", ra.ExternalID)
	}
	externalID.Store(ra.ExternalID)
	if res, err = s2.TestConnection(ctx, "t", ra.ID); err != nil || !res.OK || !strings.Contains(res.Detail, "assumed-role/Audit") {
		t.Fatalf("assume role: %+v %v", res, err)
	}
	// Another account's role (with another external ID) is refused.
	p.AccountUID = "222233334444"
	p.Credentials.RoleARN = "arn:aws:iam::222233334444:role/Audit"
	rb, _ := s2.AccountCreate(ctx, "t", "a", p)
	if res, _ = s2.TestConnection(ctx, "t", rb.ID); res.OK || !strings.Contains(res.Detail, "AccessDenied") {
		t.Fatalf("wrong external ID: %+v", res)
	}
}

func TestConnectionAzureAndGCP(t *testing.T) {
	t.Parallel()
	const tenant, client = "0d5c1c1b-2a3d-4c39-9a4e-8f1c7c2e2f4b", "2f4b0d5c-1c1b-4c39-9a4e-8f1c7c2e2a3d"
	entra := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/"+tenant+"/oauth2/v2.0/token" || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_secret") != "right" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}`)
			return
		}
		fmt.Fprint(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAi"}`)
	}))
	defer entra.Close()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	var gotAssertion atomic.Bool
	google := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || strings.Count(r.Form.Get("assertion"), ".") != 2 {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
			return
		}
		gotAssertion.Store(true)
		fmt.Fprint(w, `{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}`)
	}))
	defer google.Close()

	ctx := context.Background()
	s := cloud.New(dbtest.Open(t, dbtest.Engine{Name: "sqlite"}), newBox(t))
	s.Endpoints = cloud.Endpoints{AzureAuthorityHost: entra.URL}
	az := func(secret string) cloud.Account {
		a, err := s.AccountCreate(ctx, "t", "a", cloud.AccountParams{Provider: "azure", AccountUID: fmt.Sprintf("8f1c7c2e-2f4b-4c39-9a4e-0d5c1c1b2a3%d", len(secret)%10),
			Credentials: &cloud.Credentials{Type: cloud.CredClientSecret, TenantID: tenant, ClientID: client, ClientSecret: secret}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if res, err := s.TestConnection(ctx, "t", az("right").ID); err != nil || !res.OK {
		t.Fatalf("azure: %+v %v", res, err)
	}
	if res, _ := s.TestConnection(ctx, "t", az("wrong-secret").ID); res.OK || !strings.Contains(res.Detail, "AADSTS7000215") || strings.Contains(res.Detail, "wrong-secret") {
		t.Fatalf("azure wrong secret: %+v", res)
	}
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "scan@my-project-1.iam.gserviceaccount.com",
		"private_key": pemKey, "private_key_id": "k1", "token_uri": google.URL + "/token"})
	g, err := s.AccountCreate(ctx, "t", "a", cloud.AccountParams{Provider: "gcp", AccountUID: "my-project-1",
		Credentials: &cloud.Credentials{Type: cloud.CredServiceAccount, ServiceAccountJSON: string(sa)}})
	if err != nil {
		t.Fatal(err)
	}
	// A key naming another token endpoint than the configured one is refused, without a request.
	if res, err := s.TestConnection(ctx, "t", g.ID); err != nil || res.OK || !strings.Contains(res.Detail, "token_uri") || gotAssertion.Load() {
		t.Fatalf("gcp with a foreign token_uri: %+v %v", res, err)
	}
	s.Endpoints.GCPTokenURL = google.URL + "/token"
	if res, err := s.TestConnection(ctx, "t", g.ID); err != nil || !res.OK || !gotAssertion.Load() || !strings.Contains(res.Detail, "scan@my-project-1") {
		t.Fatalf("gcp: %+v %v", res, err)
	}
}

// The platform's own identity is the operator's: only the teams the install
// names may scan with it, checked at registration and again at use. The
// external ID of a role is the platform's choice, one per team and account,
// so team B cannot reuse a trust policy set up for team A.
func TestCloudIdentitiesTeamsCannotBorrow(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		s := cloud.New(reg, newBox(t))
		allowed := map[string]bool{"ops": true}
		s.WorkerIdentityAllowed = func(_ context.Context, teamID string) bool { return allowed[teamID] }
		worker := cloud.AccountParams{Provider: "aws", AccountUID: "111122223333", Credentials: &cloud.Credentials{Type: cloud.CredWorkerIdentity}}
		if _, err := s.AccountCreate(ctx, "team-b", "b@example.com", worker); !errors.Is(err, cloud.ErrWorkerIdentityNotAllowed) {
			t.Fatalf("team B registered the platform's identity: %v", err)
		}
		ops, err := s.AccountCreate(ctx, "ops", "o@example.com", worker)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CredentialsOpen(ctx, "ops", ops.ID); err != nil {
			t.Fatal(err)
		}
		allowed["ops"] = false
		if _, _, err := s.CredentialsOpen(ctx, "ops", ops.ID); !errors.Is(err, cloud.ErrWorkerIdentityNotAllowed) {
			t.Fatalf("withdrawn worker identity still opened: %v", err)
		}

		role := func() cloud.AccountParams {
			return cloud.AccountParams{Provider: "aws", AccountUID: "444455556666",
				Credentials: &cloud.Credentials{Type: cloud.CredAssumeRole, RoleARN: "arn:aws:iam::444455556666:role/Audit"}}
		}
		chosen := role()
		chosen.Credentials.ExternalID = "team-a-external-id"
		if _, err := s.AccountCreate(ctx, "team-b", "b@example.com", chosen); !errors.Is(err, cloud.ErrInvalid) {
			t.Fatalf("a user chose the external ID: %v", err)
		}
		a, err := s.AccountCreate(ctx, "team-a", "a@example.com", role())
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.AccountCreate(ctx, "team-b", "b@example.com", role())
		if err != nil {
			t.Fatal(err)
		}
		if a.ExternalID == "" || b.ExternalID == "" || a.ExternalID == b.ExternalID {
			t.Fatalf("external IDs %q and %q", a.ExternalID, b.ExternalID)
		}
		_, creds, err := s.CredentialsOpen(ctx, "team-b", b.ID)
		if err != nil || creds.ExternalID != b.ExternalID {
			t.Fatalf("the scan would assume the role with %q (%v), want %q", creds.ExternalID, err, b.ExternalID)
		}
		// New credentials keep the account's external ID: the trust policy stays right.
		u, err := s.AccountUpdate(ctx, "team-a", a.ID, cloud.AccountChange{Credentials: role().Credentials})
		if err != nil || u.ExternalID != a.ExternalID {
			t.Fatalf("update: %q %v, want %q", u.ExternalID, err, a.ExternalID)
		}
	})
}
