package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"
)

// Headers of a generic webhook.
const (
	HeaderSignature = "X-CSPM-Signature" // sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">
	HeaderTimestamp = "X-CSPM-Timestamp" // Unix seconds
	HeaderDelivery  = "X-CSPM-Delivery"  // the delivery's ID: the same on every retry
	HeaderEvent     = "X-CSPM-Event"     // the event type, or "digest"
)

// Sign is the signature a webhook receiver recomputes: HMAC-SHA256 over
// the timestamp header, a dot, and the raw body, keyed with the rule's
// signing secret, in hex.
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook's signature and that its timestamp is within
// tolerance of now (replays of old deliveries are refused).
func Verify(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("timestamp outside the tolerance")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// message is what a channel sends: one event, or a digest of several.
type message struct {
	DeliveryID string
	Rule       Rule
	Kind       string // event, digest, test
	Events     []Event
	From, To   time.Time // a digest's window
}

func (m message) subject() string {
	if m.Kind == kindDigest {
		return fmt.Sprintf("%s: %d events (%s digest)", m.Rule.Name, len(m.Events), m.Rule.Digest)
	}
	if len(m.Events) == 0 {
		return m.Rule.Name
	}
	return m.Events[0].Title
}

// webhookBody is the generic webhook's JSON.
type webhookBody struct {
	DeliveryID string  `json:"delivery_id"`
	Type       string  `json:"type"` // event, digest, test
	RuleID     string  `json:"rule_id"`
	RuleName   string  `json:"rule_name"`
	Event      *Event  `json:"event,omitempty"`
	Events     []Event `json:"events,omitempty"`
	From       string  `json:"from,omitempty"`
	To         string  `json:"to,omitempty"`
}

func (m message) webhookJSON() ([]byte, error) {
	b := webhookBody{DeliveryID: m.DeliveryID, Type: m.Kind, RuleID: m.Rule.ID, RuleName: m.Rule.Name}
	if m.Kind == kindDigest {
		b.Events, b.From, b.To = m.Events, m.From.Format(time.RFC3339), m.To.Format(time.RFC3339)
	} else if len(m.Events) > 0 {
		b.Event = &m.Events[0]
	}
	return marshal(b)
}

// slackJSON is Slack's incoming webhook message: a text fallback (shown in
// notifications) and Block Kit blocks.
func (m message) slackJSON() ([]byte, error) {
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type block struct {
		Type     string `json:"type"`
		Text     *text  `json:"text,omitempty"`
		Elements []text `json:"elements,omitempty"`
	}
	blocks := []block{{Type: "header", Text: &text{"plain_text", truncate(m.subject(), 150)}}}
	for i, ev := range m.Events {
		if i == 40 { // Slack takes 50 blocks at most
			blocks = append(blocks, block{Type: "context", Elements: []text{{"mrkdwn", fmt.Sprintf("and %d more", len(m.Events)-i)}}})
			break
		}
		body := "*" + slackEscape(ev.Title) + "*"
		if ev.Summary != "" {
			body += "\n" + slackEscape(ev.Summary)
		}
		if ev.URL != "" {
			body += "\n<" + ev.URL + "|Open in CSPM>"
		}
		blocks = append(blocks, block{Type: "section", Text: &text{"mrkdwn", truncate(body, 2900)}})
		if facts := ev.facts(); len(facts) > 0 && m.Kind != kindDigest {
			var els []text
			for _, f := range facts {
				els = append(els, text{"mrkdwn", "*" + f[0] + ":* " + slackEscape(f[1])})
			}
			blocks = append(blocks, block{Type: "context", Elements: els})
		}
	}
	return marshal(map[string]any{"text": m.subject(), "blocks": blocks})
}

// teamsJSON is a Microsoft Teams incoming webhook message: an Adaptive
// Card in a message attachment (what both Office 365 connectors and
// Workflows webhooks accept).
func (m message) teamsJSON() ([]byte, error) {
	body := []map[string]any{{"type": "TextBlock", "text": m.subject(), "weight": "Bolder", "size": "Medium", "wrap": true}}
	var actions []map[string]any
	for i, ev := range m.Events {
		if i == 40 {
			body = append(body, map[string]any{"type": "TextBlock", "text": fmt.Sprintf("and %d more", len(m.Events)-i), "isSubtle": true})
			break
		}
		if m.Kind == kindDigest {
			line := "**" + ev.Title + "**"
			if ev.URL != "" {
				line = "[" + ev.Title + "](" + ev.URL + ")"
			}
			body = append(body, map[string]any{"type": "TextBlock", "text": line + "  \n" + ev.Summary, "wrap": true})
			continue
		}
		if ev.Summary != "" {
			body = append(body, map[string]any{"type": "TextBlock", "text": ev.Summary, "wrap": true})
		}
		var facts []map[string]string
		for _, f := range ev.facts() {
			facts = append(facts, map[string]string{"title": f[0], "value": f[1]})
		}
		if len(facts) > 0 {
			body = append(body, map[string]any{"type": "FactSet", "facts": facts})
		}
		if ev.URL != "" {
			actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": "Open in CSPM", "url": ev.URL})
		}
	}
	card := map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
		"body": body}
	if len(actions) > 0 {
		card["actions"] = actions
	}
	return marshal(map[string]any{"type": "message", "attachments": []map[string]any{{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}})
}

// emailText is the plain-text body of an email.
func (m message) emailText() string {
	var b strings.Builder
	for i, ev := range m.Events {
		if i > 0 {
			b.WriteString("\n----\n\n")
		}
		b.WriteString(ev.Title + "\n\n")
		if ev.Summary != "" {
			b.WriteString(ev.Summary + "\n\n")
		}
		for _, f := range ev.facts() {
			b.WriteString(f[0] + ": " + f[1] + "\n")
		}
		if ev.URL != "" {
			b.WriteString("\n" + ev.URL + "\n")
		}
	}
	fmt.Fprintf(&b, "\n-- \nSent by OffloadSecurity CSPM, rule %q.\n", m.Rule.Name)
	return b.String()
}

// facts are an event's labelled values, in a stable order.
func (ev Event) facts() [][2]string {
	var out [][2]string
	if ev.Severity != "" {
		out = append(out, [2]string{"Severity", ev.Severity})
	}
	var counts []string
	for _, s := range Severities {
		if n := ev.Severities[s]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(counts) > 0 {
		out = append(out, [2]string{"Count", strings.Join(counts, ", ")})
	}
	if ev.AccountUID != "" {
		out = append(out, [2]string{"Account", ev.AccountUID})
	}
	if ev.Tier > 0 {
		out = append(out, [2]string{"Tier", strconv.Itoa(ev.Tier)})
	}
	if ev.Drop > 0 {
		out = append(out, [2]string{"Drop", strconv.FormatFloat(ev.Drop, 'f', 1, 64) + " points"})
	}
	return out
}

// sendError is a failed delivery: the receiver's status code (0 when none
// answered) and whether trying again could help.
type sendError struct {
	code      int
	permanent bool
	err       error
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// send delivers m on the rule's channel; the status code is the
// receiver's (0 for email and when no HTTP answer came).
func (s *Service) send(ctx context.Context, m message) (int, error) {
	r := m.Rule
	switch r.Channel.Kind {
	case ChannelWebhook:
		body, err := m.webhookJSON()
		if err != nil {
			return 0, err
		}
		ts := s.now().Unix()
		typ := m.Kind
		if m.Kind == kindEvent && len(m.Events) > 0 {
			typ = m.Events[0].Type
		}
		return s.post(ctx, r.secret.URL, body, map[string]string{HeaderDelivery: m.DeliveryID, HeaderEvent: typ,
			HeaderTimestamp: strconv.FormatInt(ts, 10), HeaderSignature: Sign(r.secret.SigningSecret, ts, body)})
	case ChannelSlack:
		body, err := m.slackJSON()
		if err != nil {
			return 0, err
		}
		return s.post(ctx, r.secret.URL, body, nil)
	case ChannelTeams:
		body, err := m.teamsJSON()
		if err != nil {
			return 0, err
		}
		return s.post(ctx, r.secret.URL, body, nil)
	case ChannelEmail:
		return 0, s.sendMail(ctx, r, "[CSPM] "+m.subject(), m.emailText())
	}
	return 0, &sendError{permanent: true, err: fmt.Errorf("unknown channel %q", r.Channel.Kind)}
}

// post sends a JSON body; any 2xx is accepted.
func (s *Service) post(ctx context.Context, url string, body []byte, headers map[string]string) (int, error) {
	if _, err := s.guard.CheckURL(url); err != nil {
		return 0, &sendError{permanent: true, err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, &sendError{permanent: true, err: fmt.Errorf("request: %s", redactURL(url))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "OffloadSecurity-CSPM-Notify/1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		// The URL's path holds the token of an incoming webhook: the error
		// names the host only.
		msg := err.Error()
		var ue *neturl.Error
		if errors.As(err, &ue) {
			msg = ue.Err.Error()
		}
		return 0, &sendError{permanent: errors.Is(err, ErrUnsafeURL), err: fmt.Errorf("POST %s: %s", redactURL(url), msg)}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	c := resp.StatusCode
	permanent := c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests && c != http.StatusConflict && c != 425
	if c >= 300 && c < 400 {
		permanent = true // redirects are not followed
	}
	return c, &sendError{code: c, permanent: permanent,
		err: fmt.Errorf("POST %s: %s: %s", redactURL(url), resp.Status, strings.TrimSpace(string(answer)))}
}

// marshal is json.Marshal without HTML escaping: Slack's links are
// <url|text>, and receivers read the body as it is.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// slackEscape escapes what Slack's mrkdwn treats as control characters.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
