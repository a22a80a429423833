package cloud_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/cloud"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// A connection test that cannot reach the provider (DNS, a refused
// connection) says so, and never that the provider refused the credentials.
func TestConnectionUnreachableIsNotRefusedCredentials(t *testing.T) {
	ctx := context.Background()
	s := cloud.New(dbtest.Open(t, dbtest.Engine{Name: "sqlite"}), newBox(t))
	noDNS := &http.Client{Transport: &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}}}
	for _, c := range []struct {
		name      string
		endpoints cloud.Endpoints
		want      string
	}{
		{"dns", cloud.Endpoints{AWSEndpointURL: "https://sts.example.invalid", HTTPClient: noDNS}, "DNS resolution of sts.example.invalid failed"},
		{"refused", cloud.Endpoints{AWSEndpointURL: "http://127.0.0.1:1"}, "connection refused"},
	} {
		s.Endpoints = c.endpoints
		acct, err := s.AccountCreate(ctx, "t", "a", awsParams())
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.TestConnection(ctx, "t", acct.ID)
		if err != nil || res.OK {
			t.Fatalf("%s: %+v %v", c.name, res, err)
		}
		if !strings.Contains(res.Detail, "cannot reach AWS STS") || !strings.Contains(res.Detail, c.want) || strings.Contains(res.Detail, "refused the credentials") {
			t.Errorf("%s: %s", c.name, res.Detail)
		}
		if err := s.AccountDelete(ctx, "t", acct.ID); err != nil {
			t.Fatal(err)
		}
	}
}
