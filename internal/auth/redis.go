package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/offloadsecurity/cspm/internal/db"
)

// RedisSessionStore keeps sessions in Redis, for installs whose API processes
// should not write to PostgreSQL on every request. A session is one key that
// expires after the idle timeout (capped by the absolute expiry), plus a set
// of the user's session token hashes for listing and revoking.
type RedisSessionStore struct {
	rdb    redis.UniversalClient
	prefix string
	idle   time.Duration
}

// NewRedisSessionStore returns a store whose keys start with prefix.
func NewRedisSessionStore(rdb redis.UniversalClient, prefix string, idle time.Duration) *RedisSessionStore {
	return &RedisSessionStore{rdb: rdb, prefix: prefix, idle: idle}
}

func (r *RedisSessionStore) sessionKey(tokenHash string) string {
	return r.prefix + "session:" + tokenHash
}
func (r *RedisSessionStore) userKey(teamID, userID string) string {
	return r.prefix + "user_sessions:" + teamID + ":" + userID
}

// ttl is how long Redis keeps a session touched at `at`.
func (r *RedisSessionStore) ttl(s Session, at time.Time) time.Duration {
	d := s.ExpiresAt.Sub(at)
	if r.idle > 0 && r.idle < d {
		d = r.idle
	}
	return d
}

func (r *RedisSessionStore) save(ctx context.Context, s Session, at time.Time) error {
	ttl := r.ttl(s, at)
	if ttl <= 0 {
		return nil
	}
	b, err := json.Marshal(redisSession{s, s.TokenHash, s.TeamID, s.CSRFToken})
	if err != nil {
		return err
	}
	pipe := r.rdb.TxPipeline()
	pipe.Set(ctx, r.sessionKey(s.TokenHash), b, ttl)
	pipe.SAdd(ctx, r.userKey(s.TeamID, s.UserID), s.TokenHash)
	pipe.ExpireAt(ctx, r.userKey(s.TeamID, s.UserID), s.ExpiresAt)
	_, err = pipe.Exec(ctx)
	return err
}

// redisSession carries the fields Session hides from JSON.
type redisSession struct {
	Session
	TokenHash string `json:"token_hash"`
	TeamID    string `json:"team_id"`
	CSRFToken string `json:"csrf_token"`
}

// SessionCreate implements SessionStore.
func (r *RedisSessionStore) SessionCreate(ctx context.Context, s Session) error {
	return r.save(ctx, s, s.LastSeenAt)
}

// SessionGetByTokenHash implements SessionStore.
func (r *RedisSessionStore) SessionGetByTokenHash(ctx context.Context, tokenHash string) (Session, error) {
	b, err := r.rdb.Get(ctx, r.sessionKey(tokenHash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Session{}, db.ErrNotFound
	}
	if err != nil {
		return Session{}, err
	}
	var rs redisSession
	if err := json.Unmarshal(b, &rs); err != nil {
		return Session{}, fmt.Errorf("decode session: %w", err)
	}
	s := rs.Session
	s.TokenHash, s.TeamID, s.CSRFToken = rs.TokenHash, rs.TeamID, rs.CSRFToken
	return s, nil
}

// SessionTouch implements SessionStore.
func (r *RedisSessionStore) SessionTouch(ctx context.Context, s Session, at time.Time) error {
	s.LastSeenAt = at.UTC()
	return r.save(ctx, s, at)
}

// SessionDelete implements SessionStore.
func (r *RedisSessionStore) SessionDelete(ctx context.Context, s Session) error {
	pipe := r.rdb.TxPipeline()
	del := pipe.Del(ctx, r.sessionKey(s.TokenHash))
	pipe.SRem(ctx, r.userKey(s.TeamID, s.UserID), s.TokenHash)
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	if del.Val() == 0 {
		return db.ErrNotFound
	}
	return nil
}

// SessionListByUser implements SessionStore; it prunes hashes whose session expired.
func (r *RedisSessionStore) SessionListByUser(ctx context.Context, teamID, userID string) ([]Session, error) {
	hashes, err := r.rdb.SMembers(ctx, r.userKey(teamID, userID)).Result()
	if err != nil {
		return nil, err
	}
	out := []Session{}
	for _, h := range hashes {
		s, err := r.SessionGetByTokenHash(ctx, h)
		if errors.Is(err, db.ErrNotFound) {
			r.rdb.SRem(ctx, r.userKey(teamID, userID), h)
			continue
		}
		if err != nil {
			return nil, err
		}
		if s.TeamID == teamID {
			out = append(out, s)
		}
	}
	sortSessions(out)
	return out, nil
}

// SessionDeleteByUser implements SessionStore.
func (r *RedisSessionStore) SessionDeleteByUser(ctx context.Context, teamID, userID string) (int, error) {
	hashes, err := r.rdb.SMembers(ctx, r.userKey(teamID, userID)).Result()
	if err != nil {
		return 0, err
	}
	keys := []string{r.userKey(teamID, userID)}
	for _, h := range hashes {
		keys = append(keys, r.sessionKey(h))
	}
	n, err := r.rdb.Del(ctx, keys...).Result()
	if err != nil {
		return 0, err
	}
	if len(hashes) > 0 {
		n-- // the set itself
	}
	return int(n), nil
}

// SessionDeleteExpired implements SessionStore: Redis expires sessions itself.
func (r *RedisSessionStore) SessionDeleteExpired(context.Context, time.Time, time.Time) (int, error) {
	return 0, nil
}

// RedisLockoutStore counts failed logins in Redis, shared by every process.
type RedisLockoutStore struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisLockoutStore returns a lockout store whose keys start with prefix.
func NewRedisLockoutStore(rdb redis.UniversalClient, prefix string) *RedisLockoutStore {
	return &RedisLockoutStore{rdb: rdb, prefix: prefix}
}

// Keys hold a hash of the email, not the email: Redis dumps leak less.
func (r *RedisLockoutStore) keys(key string) (count, locked string) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:16])
	return r.prefix + "login_failures:" + h, r.prefix + "login_locked:" + h
}

// reserveAttempt counts an attempt in the window and, at the limit, sets
// the lock key and stretches the counter to the lock's length, so that both
// end together; one script, so concurrent attempts all count. It returns
// the attempt's number and the lock's remaining milliseconds (0: none).
var reserveAttempt = redis.NewScript(`
local locked = redis.call('PTTL', KEYS[2])
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if locked > 0 then return {n, locked} end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {n, tonumber(ARGV[3])}
end
return {n, 0}`)

// refundAttempt gives one attempt back and lifts the lock below the limit.
var refundAttempt = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = redis.call('DECR', KEYS[1])
if n <= 0 then redis.call('DEL', KEYS[1]) end
if n < tonumber(ARGV[1]) then redis.call('DEL', KEYS[2]) end
return n`)

// LockoutReserve implements LockoutStore.
func (r *RedisLockoutStore) LockoutReserve(ctx context.Context, key string, now time.Time, p LockoutPolicy) (int, time.Time, error) {
	count, locked := r.keys(key)
	res, err := reserveAttempt.Run(ctx, r.rdb, []string{count, locked},
		p.Window.Milliseconds(), p.MaxFailures, p.LockFor.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, time.Time{}, err
	}
	if len(res) != 2 {
		return 0, time.Time{}, fmt.Errorf("lockout script answered %v", res)
	}
	if res[1] <= 0 {
		return int(res[0]), time.Time{}, nil
	}
	return int(res[0]), now.Add(time.Duration(res[1]) * time.Millisecond), nil
}

// LockoutRefund implements LockoutStore.
func (r *RedisLockoutStore) LockoutRefund(ctx context.Context, key string, p LockoutPolicy) error {
	count, locked := r.keys(key)
	return refundAttempt.Run(ctx, r.rdb, []string{count, locked}, p.MaxFailures).Err()
}

// LockoutReset implements LockoutStore.
func (r *RedisLockoutStore) LockoutReset(ctx context.Context, key string) error {
	count, locked := r.keys(key)
	return r.rdb.Del(ctx, count, locked).Err()
}
