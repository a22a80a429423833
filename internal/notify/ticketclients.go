package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ErrUnauthorized: a webhook whose secret or signature does not match (401).
var ErrUnauthorized = errors.New("webhook signature or secret does not match")

// openTicket creates the issue in the integration's system.
func (s *Service) openTicket(ctx context.Context, it Integration, subj Subject) (Ticket, error) {
	link := ""
	if s.opts.PublicURL != "" && subj.Path != "" {
		link = s.opts.PublicURL + subj.Path
	}
	title := truncate(fmt.Sprintf("[%s] %s", strings.ToUpper(orDefault(subj.Severity, "info")), subj.Title), 250)
	switch it.Kind {
	case TicketJira:
		desc := subj.Description
		if link != "" {
			desc += "\n\nOpen in OffloadSecurity CSPM: " + link
		}
		body := map[string]any{"fields": map[string]any{"project": map[string]string{"key": it.Project}, "summary": title,
			"description": truncate(desc, 30000), "issuetype": map[string]string{"name": it.IssueType}, "labels": []string{"cspm"}}}
		var out struct {
			ID   string `json:"id"`
			Key  string `json:"key"`
			Self string `json:"self"`
		}
		if err := s.callJSON(ctx, it, http.MethodPost, it.BaseURL+"/rest/api/2/issue", body, &out); err != nil {
			return Ticket{}, err
		}
		if out.Key == "" {
			return Ticket{}, errors.New("jira answered no issue key")
		}
		if link != "" {
			// The link back, as Jira shows links: best effort, the
			// description carries it too.
			rl := map[string]any{"globalId": "cspm:" + subj.Kind + ":" + subj.ID, "object": map[string]string{"url": link, "title": "OffloadSecurity CSPM: " + subj.ID}}
			if err := s.callJSON(ctx, it, http.MethodPost, it.BaseURL+"/rest/api/2/issue/"+out.Key+"/remotelink", rl, nil); err != nil {
				s.logger.Warn("jira remote link failed", "key", out.Key, "err", err)
			}
		}
		return Ticket{Key: out.Key, URL: it.BaseURL + "/browse/" + out.Key, State: TicketOpen, StatusName: "Open"}, nil
	case TicketGitHub:
		body := subj.Description
		if link != "" {
			body += "\n\n[Open in OffloadSecurity CSPM](" + link + ")"
		}
		var out struct {
			Number  int    `json:"number"`
			HTMLURL string `json:"html_url"`
			State   string `json:"state"`
		}
		if err := s.callJSON(ctx, it, http.MethodPost, it.BaseURL+"/repos/"+it.Project+"/issues",
			map[string]any{"title": title, "body": truncate(body, 60000), "labels": []string{"cspm"}}, &out); err != nil {
			return Ticket{}, err
		}
		if out.Number == 0 {
			return Ticket{}, errors.New("github answered no issue number")
		}
		return Ticket{Key: it.Project + "#" + strconv.Itoa(out.Number), URL: out.HTMLURL, State: githubState(out.State), StatusName: out.State}, nil
	}
	return Ticket{}, fmt.Errorf("unknown ticket system %q", it.Kind)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func githubState(s string) string {
	if s == "closed" {
		return TicketDone
	}
	return TicketOpen
}

// callJSON sends a JSON request with the integration's credentials and
// decodes a 2xx answer into out.
func (s *Service) callJSON(ctx context.Context, it Integration, method, url string, body, out any) error {
	if _, err := s.guard.CheckURL(url); err != nil {
		return err
	}
	var rd io.Reader
	if body != nil { // a GET sends none
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, redactURL(url))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "OffloadSecurity-CSPM-Tickets/1")
	switch {
	case it.Kind == TicketGitHub:
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		req.Header.Set("Authorization", "Bearer "+it.token)
	case it.Username != "":
		req.SetBasicAuth(it.Username, it.token) // Jira Cloud: email and API token
	default:
		req.Header.Set("Authorization", "Bearer "+it.token) // Jira Data Center: a personal access token
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, redactURL(url), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: %s %s: %s: %s", ErrTicketSystem, method, redactURL(url), resp.Status, truncate(strings.TrimSpace(string(answer)), 300))
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("%w: %s %s: not JSON", ErrTicketSystem, method, redactURL(url))
		}
	}
	return nil
}

// ErrTicketSystem: the ticket system refused or failed (502).
var ErrTicketSystem = errors.New("the ticket system refused")

// jiraHook is the part of Jira's webhook payload the platform reads.
type jiraHook struct {
	WebhookEvent string `json:"webhookEvent"`
	Issue        struct {
		Key    string `json:"key"`
		Fields struct {
			Status struct {
				Name           string `json:"name"`
				StatusCategory struct {
					Key string `json:"key"`
				} `json:"statusCategory"`
			} `json:"status"`
		} `json:"fields"`
	} `json:"issue"`
}

// JiraWebhook follows a Jira issue's status: the webhook's URL names the
// integration and carries its secret (?secret=), or the body is signed in
// X-Hub-Signature (sha256=, HMAC of the body, as Jira Cloud signs when a
// secret is set).
func (s *Service) JiraWebhook(ctx context.Context, integrationID, secret, signature string, body []byte, subjects Subjects) error {
	teamID, it, err := s.integrationByID(ctx, integrationID)
	if err != nil || it.Kind != TicketJira {
		return ErrUnauthorized // never say which integrations exist
	}
	ok := secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(it.webhookSecret)) == 1
	if !ok && signature != "" {
		ok = verifyHub(it.webhookSecret, signature, body)
	}
	if !ok {
		return ErrUnauthorized
	}
	var h jiraHook
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("%w: not a Jira webhook: %w", ErrInvalid, err)
	}
	if h.Issue.Key == "" || (h.WebhookEvent != "jira:issue_updated" && h.WebhookEvent != "jira:issue_created") {
		return nil // another event: nothing to follow
	}
	state := TicketOpen
	if h.Issue.Fields.Status.StatusCategory.Key == "done" {
		state = TicketDone
	}
	return s.ticketSync(ctx, teamID, it, h.Issue.Key, state, h.Issue.Fields.Status.Name, subjects)
}

// githubHook is the part of GitHub's issues event the platform reads.
type githubHook struct {
	Action string `json:"action"`
	Issue  struct {
		Number      int    `json:"number"`
		State       string `json:"state"`
		StateReason string `json:"state_reason"`
	} `json:"issue"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

// GitHubWebhook follows a GitHub issue's state from the issues event,
// signed in X-Hub-Signature-256 with the integration's webhook secret.
func (s *Service) GitHubWebhook(ctx context.Context, integrationID, event, signature string, body []byte, subjects Subjects) error {
	teamID, it, err := s.integrationByID(ctx, integrationID)
	if err != nil || it.Kind != TicketGitHub || !verifyHub(it.webhookSecret, signature, body) {
		return ErrUnauthorized
	}
	if event != "issues" {
		return nil // ping and other events
	}
	var h githubHook
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("%w: not a GitHub issues event: %w", ErrInvalid, err)
	}
	if h.Issue.Number == 0 || h.Repository.FullName == "" {
		return nil
	}
	status := h.Issue.State
	if h.Issue.StateReason != "" {
		status += " (" + h.Issue.StateReason + ")"
	}
	return s.ticketSync(ctx, teamID, it, h.Repository.FullName+"#"+strconv.Itoa(h.Issue.Number), githubState(h.Issue.State), status, subjects)
}

// verifyHub checks a "sha256=<hex>" HMAC-SHA256 signature of body.
func verifyHub(secret, signature string, body []byte) bool {
	got, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	raw, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(raw, m.Sum(nil))
}
