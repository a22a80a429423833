package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Guard keeps the server from fetching what a user must not make it fetch
// (SSRF): webhook, Jira and GitHub URLs and SMTP hosts are typed in by team
// admins and fetched by the server, inside the operator's network. It
// checks the URL when a rule or integration is saved, for a clear error,
// and the address of every connection when it is made, which is what
// counts: a name may resolve to another address tomorrow (DNS rebinding),
// and a redirect is never followed.
type Guard struct {
	// AllowInsecure permits http:// and loopback or unspecified addresses
	// (tests, labs). Link-local and metadata addresses stay refused.
	AllowInsecure bool
}

// alwaysBlocked are the link-local ranges, where clouds serve instance
// metadata and credentials (169.254.169.254, fd00:ec2::254 on AWS's IPv6
// Nitro endpoint), refused whatever the configuration.
var alwaysBlocked = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud's metadata service
	netip.MustParsePrefix("0.0.0.0/8"),
}

// blockedNames are metadata services' host names.
var blockedNames = []string{"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}

// CheckAddr refuses an address the server must not connect to.
func (g Guard) CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	for _, p := range alwaysBlocked {
		if p.Contains(a) {
			return fmt.Errorf("%w: %s is a link-local or cloud metadata address", ErrUnsafeURL, a)
		}
	}
	if !g.AllowInsecure && (a.IsLoopback() || a.IsUnspecified() || a.IsMulticast()) {
		return fmt.Errorf("%w: %s is a loopback, unspecified or multicast address", ErrUnsafeURL, a)
	}
	return nil
}

// CheckHost refuses a host name or literal address the server must not reach.
func (g Guard) CheckHost(host string) error {
	h := strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if h == "" {
		return fmt.Errorf("%w: no host", ErrUnsafeURL)
	}
	for _, n := range blockedNames {
		if h == n {
			return fmt.Errorf("%w: %s is a cloud metadata service", ErrUnsafeURL, host)
		}
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return g.CheckAddr(a)
	}
	if !g.AllowInsecure && (h == "localhost" || strings.HasSuffix(h, ".localhost")) {
		return fmt.Errorf("%w: %s is this machine", ErrUnsafeURL, host)
	}
	return nil
}

// CheckURL parses and checks a URL a user gave: https (http only when
// insecure channels are allowed), a host, no user information.
func (g Guard) CheckURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: %q is not an absolute URL", ErrUnsafeURL, redactURL(raw))
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !g.AllowInsecure {
			return nil, fmt.Errorf("%w: %s must use https", ErrUnsafeURL, redactURL(raw))
		}
	default:
		return nil, fmt.Errorf("%w: scheme %q: want https", ErrUnsafeURL, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: credentials in the URL are not accepted", ErrUnsafeURL)
	}
	if err := g.CheckHost(u.Hostname()); err != nil {
		return nil, err
	}
	return u, nil
}

// control runs before every connection, on the address actually dialled.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrUnsafeURL, address)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s is not an address", ErrUnsafeURL, host)
	}
	return g.CheckAddr(a)
}

// Dialer dials only addresses the guard allows.
func (g Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: g.control}
}

// Client is an HTTP client that dials through the guard, ignores proxy
// settings (a proxy would dial for it, unchecked) and follows no redirect.
func (g Guard) Client(timeout time.Duration, tlsConfig *tls.Config) *http.Client {
	d := g.Dialer(timeout)
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       time.Minute,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// redactURL keeps a URL's scheme, host and first path element: incoming
// webhook URLs carry their token in the path.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if len(raw) > 12 {
			return raw[:12] + "…"
		}
		return raw
	}
	p := strings.TrimPrefix(u.Path, "/")
	first, rest, _ := strings.Cut(p, "/")
	out := u.Scheme + "://" + u.Host + "/" + first
	if rest != "" || u.RawQuery != "" {
		out += "/…"
	}
	return out
}
