package knowledge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/llm"
)

// History bounds: a follow-up question is sent with at most HistoryTurns
// earlier turns, newest first, whose questions and answers total at most
// HistoryChars characters (about 1,500 tokens).
const (
	HistoryTurns = 6
	HistoryChars = 6000
)

// Conversation is one user's series of questions.
type Conversation struct {
	ID        string    `json:"id"`
	Title     string    `json:"title" doc:"The first question, shortened."`
	Messages  int       `json:"messages"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ConversationMessage is one question and its answer.
type ConversationMessage struct {
	Seq       int        `json:"seq"`
	Question  string     `json:"question"`
	Answer    string     `json:"answer"`
	Found     bool       `json:"found"`
	Citations []Citation `json:"citations"`
	CreatedAt time.Time  `json:"created_at"`
}

// ConversationDetail is a conversation with its messages, oldest first.
type ConversationDetail struct {
	Conversation
	Turns []ConversationMessage `json:"turns"`
}

// ConversationList is the user's conversations, most recent first.
func (s *Service) ConversationList(ctx context.Context, teamID, userID string) ([]Conversation, error) {
	out := []Conversation{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT c.id, c.title, c.created_at, c.updated_at,
			(SELECT COUNT(*) FROM kb_messages m WHERE m.conversation_id = c.id AND m.team_id = c.team_id)
			FROM kb_conversations c WHERE c.team_id = $1 AND c.user_id = $2 ORDER BY c.updated_at DESC, c.id LIMIT 200`, teamID, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Conversation
			var ca, ua db.Time
			if err := rows.Scan(&c.ID, &c.Title, &ca, &ua, &c.Messages); err != nil {
				return err
			}
			c.CreatedAt, c.UpdatedAt = ca.UTC(), ua.UTC()
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// ConversationGet is one of the user's conversations with its messages;
// another user's, even of the same team, is db.ErrNotFound.
func (s *Service) ConversationGet(ctx context.Context, teamID, userID, convID string) (ConversationDetail, error) {
	var c ConversationDetail
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var ca, ua db.Time
		err := q.QueryRowContext(ctx, `SELECT id, title, created_at, updated_at FROM kb_conversations
			WHERE id = $1 AND team_id = $2 AND user_id = $3`, convID, teamID, userID).Scan(&c.ID, &c.Title, &ca, &ua)
		if err != nil {
			return db.MapError(err)
		}
		c.CreatedAt, c.UpdatedAt = ca.UTC(), ua.UTC()
		rows, err := q.QueryContext(ctx, `SELECT seq, question, answer, found, citations, created_at FROM kb_messages
			WHERE conversation_id = $1 AND team_id = $2 ORDER BY seq`, convID, teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		c.Turns = []ConversationMessage{}
		for rows.Next() {
			var m ConversationMessage
			var cites string
			var at db.Time
			if err := rows.Scan(&m.Seq, &m.Question, &m.Answer, &m.Found, &cites, &at); err != nil {
				return err
			}
			m.CreatedAt = at.UTC()
			if err := json.Unmarshal([]byte(cites), &m.Citations); err != nil || m.Citations == nil {
				m.Citations = []Citation{}
			}
			c.Turns = append(c.Turns, m)
		}
		return rows.Err()
	})
	c.Messages = len(c.Turns)
	return c, err
}

// ConversationDelete removes one of the user's conversations with its messages.
func (s *Service) ConversationDelete(ctx context.Context, teamID, userID, convID string) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM kb_conversations WHERE id = $1 AND team_id = $2 AND user_id = $3`, convID, teamID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		_, err = q.ExecContext(ctx, `DELETE FROM kb_messages WHERE conversation_id = $1 AND team_id = $2`, convID, teamID)
		return err
	})
}

// history is the recent turns of a conversation as chat messages, oldest
// first, bounded by HistoryTurns and HistoryChars.
func history(turns []ConversationMessage) []llm.Message {
	var out []llm.Message
	chars := 0
	for i := len(turns) - 1; i >= 0 && len(out) < 2*HistoryTurns; i-- {
		t := turns[i]
		n := len(t.Question) + len(t.Answer)
		if chars+n > HistoryChars {
			break
		}
		chars += n
		out = append([]llm.Message{{Role: "user", Content: t.Question}, {Role: "assistant", Content: t.Answer}}, out...)
	}
	return out
}

// conversationTitle is the first question, shortened at a word.
func conversationTitle(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) <= 80 {
		return q
	}
	cut := strings.LastIndexByte(q[:80], ' ')
	if cut < 40 {
		cut = 80
	}
	return strings.ToValidUTF8(q[:cut], "") + "…"
}

// saveTurn appends a question and its answer to the conversation, making
// the conversation when convID is empty; it returns the conversation's ID.
func (s *Service) saveTurn(ctx context.Context, teamID, userID, convID, question string, ans Answer) (string, error) {
	cites, err := json.Marshal(ans.Citations)
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	ctx = context.WithoutCancel(ctx) // the answer was given even when the caller has gone
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if convID == "" {
			convID = id.New()
			if _, err := q.ExecContext(ctx, `INSERT INTO kb_conversations (id, team_id, user_id, title, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $5)`, convID, teamID, userID, conversationTitle(question), now); err != nil {
				return err
			}
		} else {
			res, err := q.ExecContext(ctx, `UPDATE kb_conversations SET updated_at = $1 WHERE id = $2 AND team_id = $3 AND user_id = $4`,
				now, convID, teamID, userID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return db.ErrNotFound
			}
		}
		_, err := q.ExecContext(ctx, `INSERT INTO kb_messages (conversation_id, seq, team_id, question, answer, found, citations, created_at)
			VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM kb_messages WHERE conversation_id = $1), $2, $3, $4, $5, $6, $7)`,
			convID, teamID, question, ans.Answer, ans.Found, string(cites), now)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("saving the conversation: %w", err)
	}
	return convID, nil
}
