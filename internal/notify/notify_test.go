package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

func webhookRule(url string) RuleInput {
	return RuleInput{Name: "SOC webhook", Event: EventFindingNew, Channel: &ChannelInput{Kind: ChannelWebhook, URL: url}}
}

func findingEvent(teamID, eventID string) Event {
	return Event{ID: eventID, Type: EventFindingNew, TeamID: teamID, Title: "Import opened 2 critical findings",
		Summary: "prowler report of account 111122223333", Severity: "critical", Severities: map[string]int{"critical": 2, "high": 1},
		AccountUID: "111122223333", Path: "/findings?scan=s1"}
}

// Rules keep their secrets sealed, answer without them, and belong to one team.
func TestRuleStore(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		hook := "https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX"
		r, err := b.s.RuleCreate(ctx, teamA, webhookRule(hook), admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.SigningSecret) != 64 {
			t.Errorf("generated signing secret %q, want 64 hex characters", r.SigningSecret)
		}
		if r.Channel.URLHint != "https://hooks.example.com/services/…" {
			t.Errorf("url hint %q", r.Channel.URLHint)
		}
		got, err := b.s.RuleGet(ctx, teamA, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if raw, _ := json.Marshal(got); strings.Contains(string(raw), "XXXXSECRETXXXX") || strings.Contains(string(raw), r.SigningSecret) {
			t.Errorf("a read answers a secret: %s", raw)
		}
		var sealed string
		if err := reg.Get(db.Platform).QueryRowContext(ctx, `SELECT channel_secret FROM notify_rules WHERE id = $1`, r.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sealed, "SECRET") || !strings.HasPrefix(sealed, "v1:") {
			t.Errorf("channel secret stored as %q", sealed)
		}
		if _, err := b.s.RuleGet(ctx, teamB, r.ID); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("team B reads team A's rule: %v", err)
		}
		if err := b.s.RuleDelete(ctx, teamB, r.ID, admin); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("team B deletes team A's rule: %v", err)
		}
		// A change without the channel keeps it, secrets and all.
		in := webhookRule("")
		in.Channel, in.Name, in.Digest = nil, "Renamed", DigestHourly
		upd, err := b.s.RuleUpdate(ctx, teamA, r.ID, in, admin)
		if err != nil {
			t.Fatal(err)
		}
		if upd.Name != "Renamed" || upd.Digest != DigestHourly || upd.SigningSecret != "" {
			t.Errorf("updated rule %+v", upd)
		}
		err = b.reg.Get(db.Platform).ReadInTeam(ctx, teamA, func(q db.Querier) error {
			full, err := b.s.ruleGet(ctx, q, teamA, r.ID, true)
			if full.secret.URL != hook || full.secret.SigningSecret != r.SigningSecret {
				t.Errorf("secrets after a change: %+v", full.secret)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		list, err := b.s.RuleList(ctx, teamA)
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		if list, _ := b.s.RuleList(ctx, teamB); len(list) != 0 {
			t.Errorf("team B lists %d rules", len(list))
		}
		if err := b.s.RuleDelete(ctx, teamA, r.ID, admin); err != nil {
			t.Fatal(err)
		}
	})
}

// Bad input gets errors that say what is wrong; metadata addresses are
// refused even where insecure channels are allowed.
func TestRuleValidation(t *testing.T) {
	t.Parallel()
	e := dbtest.Engines(t)[0]
	reg := dbtest.Open(t, e)
	secure := setup(t, reg, func(o *Options) { o.AllowInsecure = false })
	lab := setup(t, reg, nil)
	ctx := context.Background()
	cases := []struct {
		s    *Service
		in   RuleInput
		want string
	}{
		{secure.s, webhookRule("http://hooks.example.com/x"), "must use https"},
		{secure.s, webhookRule("https://127.0.0.1:8443/x"), "loopback"},
		{secure.s, webhookRule("https://localhost/x"), "this machine"},
		{lab.s, webhookRule("http://169.254.169.254/latest/meta-data/"), "metadata"},
		{lab.s, webhookRule("http://[fd00:ec2::254]/latest/meta-data/"), "metadata"},
		{lab.s, webhookRule("http://metadata.google.internal/computeMetadata/v1/"), "metadata"},
		{lab.s, webhookRule("https://[::ffff:169.254.169.254]/"), "metadata"},
		{lab.s, webhookRule("ftp://example.com/x"), "want https"},
		{lab.s, webhookRule("not a url"), "not an absolute URL"},
		{lab.s, webhookRule("https://user:pw@example.com/x"), "credentials in the URL"},
		{lab.s, RuleInput{Name: "x", Event: "finding.old", Channel: &ChannelInput{Kind: ChannelSlack, URL: "https://hooks.slack.com/x"}}, "unknown event"},
		{lab.s, RuleInput{Name: "x", Event: EventScanFailed}, "channel is required"},
		{lab.s, RuleInput{Name: "x", Event: EventScanFailed, Channel: &ChannelInput{Kind: ChannelEmail, SMTPHost: "smtp.example.com", From: "nope"}},
			"not an email address"},
		{lab.s, RuleInput{Name: "x", Event: EventScanFailed, Channel: &ChannelInput{Kind: ChannelEmail, SMTPHost: "169.254.169.254",
			From: "a@example.com", To: []string{"b@example.com"}}}, "metadata"},
		{lab.s, RuleInput{Name: "x", Event: EventScanFailed, Filters: Filters{Severities: []string{"urgent"}, Tags: []string{"env"}},
			Channel: &ChannelInput{Kind: ChannelSlack, URL: "https://hooks.slack.com/x"}}, `unknown severity "urgent"; tag "env": want key=value`},
		{lab.s, RuleInput{Name: "x", Event: EventScanFailed, Channel: &ChannelInput{Kind: "pager"}}, "unknown channel kind"},
	}
	for _, c := range cases {
		_, err := c.s.RuleCreate(ctx, teamA, c.in, admin)
		if err == nil || !strings.Contains(err.Error(), c.want) || (!errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsafeURL)) {
			t.Errorf("%+v: got %v, want an error containing %q", c.in.Channel, err, c.want)
		}
	}
}

// The guard checks the address actually dialled, so a URL that passed the
// check cannot reach a refused address later (a redirect or a name that
// resolves elsewhere). No test dials a metadata address: the check runs
// before the connection is attempted, and the unit checks below cover it.
func TestGuardChecksDialledAddress(t *testing.T) {
	t.Parallel()
	g := Guard{}
	r := newReceiver(t, &receiver{answer: "ok"})
	_, err := g.Client(2*time.Second, nil).Post(r.srv.URL, "application/json", strings.NewReader("{}"))
	if !errors.Is(err, ErrUnsafeURL) || r.count() != 0 {
		t.Fatalf("dial to loopback without AllowInsecure: %v (received %d)", err, r.count())
	}
	for _, a := range []string{"169.254.169.254", "fd00:ec2::254", "fe80::1", "::ffff:169.254.170.2", "0.0.0.0"} {
		if err := (Guard{AllowInsecure: true}).CheckAddr(netip.MustParseAddr(a)); !errors.Is(err, ErrUnsafeURL) {
			t.Errorf("%s allowed", a)
		}
	}
	for _, a := range []string{"10.0.0.5", "192.168.1.10", "140.82.112.3", "2606:4700::1"} {
		if err := g.CheckAddr(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	// A redirect is not followed: it would send the body elsewhere.
	redir := newReceiver(t, &receiver{status: http.StatusFound})
	b := &Service{guard: Guard{AllowInsecure: true}, http: Guard{AllowInsecure: true}.Client(2*time.Second, nil)}
	code, err := b.post(context.Background(), redir.srv.URL, []byte("{}"), nil)
	var se *sendError
	if code != http.StatusFound || !errors.As(err, &se) || !se.permanent {
		t.Errorf("redirect: %d %v", code, err)
	}
}

func TestFiltersMatch(t *testing.T) {
	t.Parallel()
	ev := findingEvent(teamA, "e1")
	ev.Tags, ev.Tier = []string{"env=prod", "team=blue"}, 1
	for _, c := range []struct {
		f    Filters
		want bool
	}{
		{Filters{}, true},
		{Filters{Severities: []string{"critical"}}, true},
		{Filters{Severities: []string{"high"}}, true}, // the event counts one high
		{Filters{Severities: []string{"low"}}, false},
		{Filters{Accounts: []string{"111122223333"}}, true},
		{Filters{Accounts: []string{"999"}}, false},
		{Filters{Tags: []string{"env=prod"}}, true},
		{Filters{Tags: []string{"Env=PROD"}}, true},
		{Filters{Tags: []string{"env=dev", "team=blue"}}, true},
		{Filters{Tags: []string{"env=dev"}}, false},
		{Filters{Tags: []string{"env"}}, false},
		{Filters{Tiers: []int{1, 2}}, true},
		{Filters{Tiers: []int{3}}, false},
	} {
		if got := c.f.Match(ev); got != c.want {
			t.Errorf("%+v: %v", c.f, got)
		}
	}
	drop := Event{Type: EventComplianceDrop, Drop: 4}
	if (Filters{}).Match(drop) || !(Filters{MinDrop: 3}).Match(drop) {
		t.Error("min_drop: default 5 points, or the rule's")
	}
}

// A webhook receiver that fails twice before accepting gets the event on
// the third attempt, signed; River retries with backoff.
func TestWebhookRetriesUntilAccepted(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		var secret string
		r := newReceiver(t, &receiver{failures: 2, answer: "thanks", check: func(h http.Header, body []byte) error {
			return Verify(secret, h.Get(HeaderSignature), h.Get(HeaderTimestamp), body, time.Now(), 5*time.Minute)
		}})
		rule, err := b.s.RuleCreate(ctx, teamA, webhookRule(r.srv.URL+"/hook"), admin)
		if err != nil {
			t.Fatal(err)
		}
		secret = rule.SigningSecret
		// Another team's rule and a rule for another event get nothing.
		if _, err := b.s.RuleCreate(ctx, teamB, webhookRule(r.srv.URL+"/b"), admin); err != nil {
			t.Fatal(err)
		}
		other := webhookRule(r.srv.URL + "/other")
		other.Event = EventScanFailed
		if _, err := b.s.RuleCreate(ctx, teamA, other, admin); err != nil {
			t.Fatal(err)
		}
		ev := findingEvent(teamA, "import:s1:finding.new")
		if err := b.s.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if err := b.s.Publish(ctx, ev); err != nil { // published twice: delivered once
			t.Fatal(err)
		}
		d := b.waitDelivery(t, teamA, rule.ID, kindEvent)
		if d.Status != StatusDelivered || d.Attempts != 3 || d.StatusCode != 200 || d.LastError != "" {
			t.Fatalf("delivery %+v", d)
		}
		time.Sleep(300 * time.Millisecond)
		if n := r.count(); n != 3 {
			t.Fatalf("receiver got %d requests, want 3", n)
		}
		body := decodeJSON(t, r.last())
		evb, _ := body["event"].(map[string]any)
		if body["type"] != "event" || body["delivery_id"] != d.ID || evb["type"] != EventFindingNew ||
			evb["url"] != "https://cspm.example.com/findings?scan=s1" {
			t.Errorf("webhook body %s", r.last())
		}
		r.mu.Lock()
		h := r.headers[2]
		r.mu.Unlock()
		if h.Get(HeaderDelivery) != d.ID || h.Get(HeaderEvent) != EventFindingNew || !strings.HasPrefix(h.Get(HeaderSignature), "sha256=") {
			t.Errorf("headers %v", h)
		}
		if list, _ := b.s.DeliveryList(ctx, teamA, rule.ID, 10); len(list) != 1 {
			t.Errorf("%d deliveries logged, want 1", len(list))
		}
	})
}

// A receiver that never accepts: the delivery log says so after the last
// attempt; a permanent refusal (404) is not retried.
func TestWebhookNeverAccepts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		down := newReceiver(t, &receiver{failures: 1000})
		gone := newReceiver(t, &receiver{status: http.StatusNotFound, answer: "no_service"})
		r1, err := b.s.RuleCreate(ctx, teamA, webhookRule(down.srv.URL), admin)
		if err != nil {
			t.Fatal(err)
		}
		slack := RuleInput{Name: "slack", Event: EventFindingNew, Channel: &ChannelInput{Kind: ChannelSlack, URL: gone.srv.URL + "/services/T/B/X"}}
		r2, err := b.s.RuleCreate(ctx, teamA, slack, admin)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.s.Publish(ctx, findingEvent(teamA, "e-never")); err != nil {
			t.Fatal(err)
		}
		d := b.waitDelivery(t, teamA, r1.ID, kindEvent)
		if d.Status != StatusFailed || d.Attempts != 3 || d.StatusCode != 500 || !strings.Contains(d.LastError, "500") {
			t.Errorf("never-accepting receiver: %+v", d)
		}
		d2 := b.waitDelivery(t, teamA, r2.ID, kindEvent)
		if d2.Status != StatusFailed || d2.Attempts != 1 || d2.StatusCode != 404 || !strings.Contains(d2.LastError, "no_service") {
			t.Errorf("gone receiver: %+v", d2)
		}
		if strings.Contains(d2.LastError, "/B/X") {
			t.Errorf("the error shows the webhook's secret path: %s", d2.LastError)
		}
		// Nothing else broke: the next event still reaches a working channel.
		ok := newReceiver(t, &receiver{answer: "ok"})
		r3, err := b.s.RuleCreate(ctx, teamA, webhookRule(ok.srv.URL), admin)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.s.Publish(ctx, findingEvent(teamA, "e-after")); err != nil {
			t.Fatal(err)
		}
		if d := b.waitDelivery(t, teamA, r3.ID, kindEvent); d.Status != StatusDelivered {
			t.Errorf("working receiver after a failing one: %+v", d)
		}
	})
}

// Slack and Teams receivers that check their message formats.
func TestSlackAndTeamsFormats(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		// Slack: a JSON object with text and Block Kit blocks of known
		// types; its answer is the plain text "ok".
		slack := newReceiver(t, &receiver{answer: "ok", check: func(_ http.Header, body []byte) error {
			var m struct {
				Text   string `json:"text"`
				Blocks []struct {
					Type string `json:"type"`
					Text *struct {
						Type string `json:"type"`
						Text string `json:"text"`
					} `json:"text"`
				} `json:"blocks"`
			}
			if err := json.Unmarshal(body, &m); err != nil || m.Text == "" || len(m.Blocks) == 0 || len(m.Blocks) > 50 {
				return fmt.Errorf("invalid_payload")
			}
			for _, bl := range m.Blocks {
				switch bl.Type {
				case "header":
					if bl.Text == nil || bl.Text.Type != "plain_text" || len(bl.Text.Text) > 150 {
						return fmt.Errorf("invalid_blocks")
					}
				case "section":
					if bl.Text == nil || bl.Text.Type != "mrkdwn" || len(bl.Text.Text) > 3000 {
						return fmt.Errorf("invalid_blocks")
					}
				case "context":
				default:
					return fmt.Errorf("invalid_blocks")
				}
			}
			return nil
		}})
		// Teams: a message whose attachment is an Adaptive Card; a
		// connector answers "1".
		teams := newReceiver(t, &receiver{answer: "1", check: func(_ http.Header, body []byte) error {
			var m struct {
				Type        string `json:"type"`
				Attachments []struct {
					ContentType string `json:"contentType"`
					Content     struct {
						Type    string           `json:"type"`
						Version string           `json:"version"`
						Body    []map[string]any `json:"body"`
					} `json:"content"`
				} `json:"attachments"`
			}
			if err := json.Unmarshal(body, &m); err != nil || m.Type != "message" || len(m.Attachments) != 1 {
				return fmt.Errorf("bad message")
			}
			a := m.Attachments[0]
			if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Type != "AdaptiveCard" || a.Content.Version == "" || len(a.Content.Body) == 0 {
				return fmt.Errorf("bad card")
			}
			return nil
		}})
		rs, err := b.s.RuleCreate(ctx, teamA, RuleInput{Name: "slack", Event: EventFindingNew, Channel: &ChannelInput{Kind: ChannelSlack, URL: slack.srv.URL}}, admin)
		if err != nil {
			t.Fatal(err)
		}
		rt, err := b.s.RuleCreate(ctx, teamA, RuleInput{Name: "teams", Event: EventFindingNew, Channel: &ChannelInput{Kind: ChannelTeams, URL: teams.srv.URL}}, admin)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.s.Publish(ctx, findingEvent(teamA, "e-chat")); err != nil {
			t.Fatal(err)
		}
		for _, r := range []Rule{rs, rt} {
			if d := b.waitDelivery(t, teamA, r.ID, kindEvent); d.Status != StatusDelivered || d.Attempts != 1 {
				t.Errorf("%s: %+v", r.Name, d)
			}
		}
		if !strings.Contains(string(slack.last()), "<https://cspm.example.com/findings?scan=s1|Open in CSPM>") {
			t.Errorf("slack message %s", slack.last())
		}
		if !strings.Contains(string(teams.last()), `"Action.OpenUrl"`) || !strings.Contains(string(teams.last()), "FactSet") {
			t.Errorf("teams message %s", teams.last())
		}
		// The test button sends at once and logs it.
		d, err := b.s.RuleTest(ctx, teamA, rt.ID)
		if err != nil || d.Status != StatusDelivered || d.Kind != kindTest {
			t.Errorf("test message: %+v %v", d, err)
		}
	})
}

// Email goes over STARTTLS (a self-signed certificate the test trusts),
// authenticates after it, and is refused by a server without STARTTLS.
func TestEmailOverSTARTTLS(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		srv := newSMTPServer(t, b.cert, true)
		in := RuleInput{Name: "mail", Event: EventScanFailed, Channel: &ChannelInput{Kind: ChannelEmail, SMTPHost: "127.0.0.1", SMTPPort: srv.port(),
			Username: "cspm", Password: "smtp-pass", From: "CSPM <cspm@example.com>", To: []string{"soc@example.com", "oncall@example.com"}}}
		r, err := b.s.RuleCreate(ctx, teamA, in, admin)
		if err != nil {
			t.Fatal(err)
		}
		if raw, _ := json.Marshal(r); strings.Contains(string(raw), "smtp-pass") {
			t.Errorf("rule answers the password: %s", raw)
		}
		ev := Event{ID: "run:r1:failed", Type: EventScanFailed, TeamID: teamA, Title: "Scan failed: prowler on 111122223333",
			Summary: "prowler exited 3: AccessDenied", AccountUID: "111122223333", Path: "/scans/r1"}
		if err := b.s.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
		d := b.waitDelivery(t, teamA, r.ID, kindEvent)
		if d.Status != StatusDelivered {
			t.Fatalf("email delivery %+v", d)
		}
		mails := srv.received()
		if len(mails) != 1 {
			t.Fatalf("%d mails", len(mails))
		}
		m := mails[0]
		if !m.tls || m.authUser != "cspm" || m.from != "cspm@example.com" || strings.Join(m.to, ",") != "soc@example.com,oncall@example.com" {
			t.Errorf("mail envelope %+v", m)
		}
		for _, want := range []string{"Subject: [CSPM] Scan failed: prowler on 111122223333", "prowler exited 3: AccessDenied",
			"https://cspm.example.com/scans/r1", "Content-Type: text/plain; charset=utf-8"} {
			if !strings.Contains(m.data, want) {
				t.Errorf("mail lacks %q:\n%s", want, m.data)
			}
		}
		// A server without STARTTLS gets nothing, and no retry.
		plain := newSMTPServer(t, b.cert, false)
		in.Channel.SMTPPort, in.Name = plain.port(), "plain"
		r2, err := b.s.RuleCreate(ctx, teamA, in, admin)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := b.s.RuleTest(ctx, teamA, r2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d2.Status != StatusFailed || !strings.Contains(d2.LastError, "STARTTLS") || len(plain.received()) != 0 {
			t.Errorf("plain SMTP: %+v", d2)
		}
	})
}

// A digest rule collects events and sends them in one message once its
// window has passed.
func TestDigest(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		clock := time.Now().UTC()
		now := func() time.Time { return clock }
		b := setup(t, reg, func(o *Options) { o.Now = func() time.Time { return now() } })
		ctx := context.Background()
		r := newReceiver(t, &receiver{answer: "ok"})
		in := webhookRule(r.srv.URL)
		in.Digest = DigestHourly
		rule, err := b.s.RuleCreate(ctx, teamA, in, admin)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := b.s.route(ctx, func() Event {
				ev := findingEvent(teamA, fmt.Sprintf("d%d", i))
				ev, _ = b.s.prepare(ev)
				return ev
			}()); err != nil {
				t.Fatal(err)
			}
		}
		list, _ := b.s.DeliveryList(ctx, teamA, rule.ID, 10)
		for _, d := range list {
			if d.Status != StatusQueuedForDigest {
				t.Errorf("before the window ends: %+v", d)
			}
		}
		if n, err := b.s.Digest(ctx); err != nil || n != 0 {
			t.Fatalf("digest before the hour: %d %v", n, err)
		}
		clock = clock.Add(time.Hour + time.Second)
		if n, err := b.s.Digest(ctx); err != nil || n != 1 {
			t.Fatalf("digest after the hour: %d %v", n, err)
		}
		d := b.waitDelivery(t, teamA, rule.ID, kindDigest)
		if d.Status != StatusDelivered || d.Title != "Digest of 3 events" {
			t.Fatalf("digest %+v", d)
		}
		body := decodeJSON(t, r.last())
		if evs, _ := body["events"].([]any); body["type"] != "digest" || len(evs) != 3 {
			t.Errorf("digest body %s", r.last())
		}
		list, _ = b.s.DeliveryList(ctx, teamA, rule.ID, 10)
		for _, x := range list {
			if x.Kind == kindEvent && (x.Status != StatusDelivered || x.DigestID != d.ID) {
				t.Errorf("event after its digest: %+v", x)
			}
		}
		// Nothing waits now: the next window sends nothing.
		clock = clock.Add(2 * time.Hour)
		if n, err := b.s.Digest(ctx); err != nil || n != 0 {
			t.Errorf("empty digest: %d %v", n, err)
		}
	})
}

// A delivery written but never queued (the process died in between) is
// queued again by the sweep.
func TestSweepQueuesLostDeliveries(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		r := newReceiver(t, &receiver{answer: "ok"})
		rule, err := b.s.RuleCreate(ctx, teamA, webhookRule(r.srv.URL), admin)
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := b.s.prepare(findingEvent(teamA, "lost"))
		payload, _ := json.Marshal(ev)
		old := time.Now().UTC().Add(-time.Hour)
		if err := reg.Get(db.Platform).InTeam(ctx, teamA, func(q db.Querier) error {
			_, err := q.ExecContext(ctx, `INSERT INTO notify_deliveries (id, team_id, rule_id, event_id, event_type, kind, payload, status,
				created_at, updated_at) VALUES ('lost-1', $1, $2, 'lost', $3, 'event', $4, 'pending', $5, $5)`, teamA, rule.ID, ev.Type, string(payload), old)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n, err := b.s.Sweep(ctx, 10*time.Minute); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if d := b.waitDelivery(t, teamA, rule.ID, kindEvent); d.Status != StatusDelivered || d.ID != "lost-1" {
			t.Errorf("swept delivery %+v", d)
		}
	})
}

func TestPublishRefusesBadEvents(t *testing.T) {
	t.Parallel()
	s := &Service{now: time.Now}
	for _, ev := range []Event{{Type: EventScanFailed, ID: "x"}, {TeamID: teamA, Type: "nope", ID: "x"}, {TeamID: teamA, Type: EventScanFailed}} {
		if _, err := s.prepare(ev); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", ev, err)
		}
	}
}

// A compliance score that falls by at least a rule's points is told once
// per sync; the first sync only sets the baseline.
func TestComplianceScoreDrop(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		r := newReceiver(t, &receiver{answer: "ok"})
		in := webhookRule(r.srv.URL)
		in.Event, in.Filters = EventComplianceDrop, Filters{MinDrop: 5}
		rule, err := b.s.RuleCreate(ctx, teamA, in, admin)
		if err != nil {
			t.Fatal(err)
		}
		scores := func(overall, soc2 float64) []Score {
			return []Score{{Scope: "overall", Name: "Overall", Score: overall}, {Scope: "framework:soc2", Name: "SOC 2", Score: soc2}}
		}
		for _, s := range [][]Score{scores(80, 70), scores(77, 62.5)} {
			if err := b.s.ObserveScores(ctx, teamA, s); err != nil {
				t.Fatal(err)
			}
		}
		d := b.waitDelivery(t, teamA, rule.ID, kindEvent)
		if d.Status != StatusDelivered || d.Title != "SOC 2 compliance score dropped 7.5 points" {
			t.Fatalf("delivery %+v", d)
		}
		time.Sleep(300 * time.Millisecond)
		if list, _ := b.s.DeliveryList(ctx, teamA, rule.ID, 10); len(list) != 1 {
			t.Errorf("a 3-point drop was told too: %+v", list)
		}
		if err := b.s.ObserveScores(ctx, teamB, scores(10, 10)); err != nil {
			t.Fatal(err)
		}
	})
}
