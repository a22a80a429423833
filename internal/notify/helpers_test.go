package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/queue"
	"github.com/offloadsecurity/cspm/internal/secrets"
	"github.com/offloadsecurity/cspm/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.NoCloudMetadata()
	os.Exit(m.Run())
}

const teamA, teamB = "team-a", "team-b"

var admin = audit.Event{ActorID: "u1", ActorEmail: "admin@example.com"}

type bundle struct {
	s     *Service
	reg   *db.Registry
	queue *queue.Client
	certs *x509.CertPool
	cert  tls.Certificate
}

// setup builds the service with a real River client working its jobs, a
// fast retry schedule, and trust in a self-signed certificate for 127.0.0.1.
func setup(t *testing.T, reg *db.Registry, mod func(*Options)) *bundle {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{reg: reg}
	b.cert, b.certs = selfSigned(t)
	w := river.NewWorkers()
	svc := func() *Service { return b.s }
	river.AddWorker(w, &EventWorker{Service: svc})
	river.AddWorker(w, &DeliverWorker{Service: svc})
	river.AddWorker(w, &DigestWorker{Service: svc})
	river.AddWorker(w, &TicketSyncWorker{Service: svc})
	client, err := queue.New(reg, queue.Options{Workers: w, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	b.queue = client
	o := Options{Box: box, Queue: client, Audit: audit.New(reg, nil), PublicURL: "https://cspm.example.com/", AllowInsecure: true,
		RootCAs: b.certs, RetryBase: 50 * time.Millisecond, MaxAttempts: 3, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&o)
	}
	b.s = New(reg, o)
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.StopAndCancel(ctx)
	})
	return b
}

// waitDelivery polls a rule's log until one of its deliveries reaches a
// final status (delivered or failed), or fails the test after 20 s.
func (b *bundle) waitDelivery(t *testing.T, teamID, ruleID string, kind string) Delivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := b.s.DeliveryList(context.Background(), teamID, ruleID, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range list {
			if d.Kind == kind && (d.Status == StatusDelivered || d.Status == StatusFailed) {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished %s delivery for rule %s after 20 s: %+v", kind, ruleID, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// receiver records what a local server was sent.
type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	failures int // answer 500 to this many requests first
	status   int // then answer this (200 when 0)
	answer   string
	check    func(h http.Header, body []byte) error
	srv      *httptest.Server
}

func newReceiver(t *testing.T, r *receiver) *receiver {
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.bodies, r.headers = append(r.bodies, body), append(r.headers, req.Header.Clone())
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		if r.check != nil {
			if err := r.check(req.Header, body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		if r.failures > 0 {
			r.failures--
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		if r.status != 0 {
			http.Error(w, r.answer, r.status)
			return
		}
		_, _ = io.WriteString(w, r.answer)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func (r *receiver) last() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[len(r.bodies)-1]
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// mailMsg is one message the SMTP server accepted.
type mailMsg struct {
	from     string
	to       []string
	data     string
	tls      bool // STARTTLS came before MAIL
	authUser string
	authPass string
}

// smtpServer is a minimal SMTP server (RFC 5321) speaking EHLO, STARTTLS
// (with a self-signed certificate), AUTH PLAIN, MAIL, RCPT, DATA and QUIT,
// enough for net/smtp's client.
type smtpServer struct {
	addr     string
	startTLS bool
	cert     tls.Certificate
	mu       sync.Mutex
	mails    []mailMsg
}

func newSMTPServer(t *testing.T, cert tls.Certificate, startTLS bool) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: ln.Addr().String(), startTLS: startTLS, cert: cert}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) port() int {
	return int(netip.MustParseAddrPort(s.addr).Port())
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	tp := textproto.NewConn(c)
	var (
		m      mailMsg
		secure bool
	)
	_ = tp.PrintfLine("220 127.0.0.1 ESMTP test")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			exts := []string{"250-127.0.0.1 hello", "250-8BITMIME"}
			if s.startTLS && !secure {
				exts = append(exts, "250-STARTTLS")
			}
			if secure {
				exts = append(exts, "250-AUTH PLAIN")
			}
			exts = append(exts, "250 SMTPUTF8")
			for _, e := range exts {
				_ = tp.PrintfLine("%s", e)
			}
		case "STARTTLS":
			_ = tp.PrintfLine("220 go ahead")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12})
			if err := tc.Handshake(); err != nil {
				return
			}
			c, secure = tc, true
			tp = textproto.NewConn(tc)
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if mech != "PLAIN" || err != nil || len(parts) != 3 || !secure {
				_ = tp.PrintfLine("535 authentication failed")
				continue
			}
			m.authUser, m.authPass = parts[1], parts[2]
			if parts[2] != "smtp-pass" {
				_ = tp.PrintfLine("535 5.7.8 bad credentials")
				continue
			}
			_ = tp.PrintfLine("235 ok")
		case "MAIL":
			addr, _, _ := strings.Cut(strings.TrimPrefix(arg, "FROM:"), " ") // then parameters: BODY=8BITMIME
			m.from, m.tls = strings.Trim(addr, "<>"), secure
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			m.to = append(m.to, strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>"))
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go on")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			m.data = string(data)
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			m = mailMsg{authUser: m.authUser, authPass: m.authPass}
			_ = tp.PrintfLine("250 queued")
		case "RSET", "NOOP":
			_ = tp.PrintfLine("250 ok")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 unknown command")
		}
	}
}

func (s *smtpServer) received() []mailMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mailMsg(nil), s.mails...)
}

// decodeJSON reads a JSON body into a map.
func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}
