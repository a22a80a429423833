package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/id"
)

// sendMail sends a plain-text email through the rule's SMTP server. The
// server must offer STARTTLS: a password, and the findings, never cross
// the network in the clear.
func (s *Service) sendMail(ctx context.Context, r Rule, subject, body string) error {
	ch := r.Channel
	if err := s.guard.CheckHost(ch.SMTPHost); err != nil {
		return &sendError{permanent: true, err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.opts.Timeout)
	defer cancel()
	addr := net.JoinHostPort(ch.SMTPHost, strconv.Itoa(ch.SMTPPort))
	conn, err := s.guard.Dialer(s.opts.Timeout).DialContext(ctx, "tcp", addr)
	if err != nil {
		return &sendError{permanent: errors.Is(err, ErrUnsafeURL), err: fmt.Errorf("SMTP %s: %w", addr, err)}
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, ch.SMTPHost)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("SMTP %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello("cspm.localdomain"); err != nil {
		return fmt.Errorf("SMTP EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return &sendError{permanent: true, err: fmt.Errorf("SMTP %s does not offer STARTTLS; refusing to send in the clear", addr)}
	}
	if err := c.StartTLS(&tls.Config{ServerName: ch.SMTPHost, RootCAs: s.opts.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
		return fmt.Errorf("SMTP STARTTLS: %w", err)
	}
	if ch.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", ch.Username, r.secret.Password, ch.SMTPHost)); err != nil {
			return &sendError{permanent: true, err: fmt.Errorf("SMTP authentication: %w", err)}
		}
	}
	from, err := mail.ParseAddress(ch.From)
	if err != nil {
		return &sendError{permanent: true, err: fmt.Errorf("from %q: %w", ch.From, err)}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("SMTP MAIL FROM: %w", err)
	}
	for _, to := range ch.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("SMTP RCPT TO %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if _, err := w.Write(s.mailMessage(ch, subject, body)); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	return c.Quit()
}

// mailMessage is an RFC 5322 message with a UTF-8 plain-text body.
func (s *Service) mailMessage(ch Channel, subject, body string) []byte {
	var b strings.Builder
	domain := "cspm.localdomain"
	if a, err := mail.ParseAddress(ch.From); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			domain = d
		}
	}
	h := [][2]string{
		{"From", ch.From},
		{"To", strings.Join(ch.To, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", oneLine(subject))},
		{"Date", s.now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + id.New() + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "8bit"},
		{"Auto-Submitted", "auto-generated"},
	}
	for _, kv := range h {
		b.WriteString(kv[0] + ": " + kv[1] + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
