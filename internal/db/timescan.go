package db

import (
	"fmt"
	"time"
)

// timeLayouts are the ways a timestamp comes back from SQLite: modernc's
// own rendering of a time.Time, and RFC 3339 from River and hand-written SQL.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"}

// ParseTime reads a timestamp stored as text.
func ParseTime(s string) (time.Time, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// NullTime scans a nullable timestamp on both engines, including what
// SQLite returns as text for an aggregate such as MIN(first_seen), where
// the column's declared type is lost.
type NullTime struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (n *NullTime) Scan(v any) error {
	n.Valid = true
	switch x := v.(type) {
	case nil:
		n.Time, n.Valid = time.Time{}, false
	case time.Time:
		n.Time = x
	case string:
		return n.parse(x)
	case []byte:
		return n.parse(string(x))
	default:
		return fmt.Errorf("cannot scan %T into a timestamp", v)
	}
	return nil
}

func (n *NullTime) parse(s string) error {
	t, ok := ParseTime(s)
	if !ok {
		return fmt.Errorf("cannot read %q as a timestamp", s)
	}
	n.Time = t
	return nil
}

// Ptr returns the time, or nil for NULL.
func (n NullTime) Ptr() *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time
	return &t
}

// Time scans a timestamp that is never NULL.
type Time struct{ time.Time }

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	var n NullTime
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		return fmt.Errorf("unexpected NULL timestamp")
	}
	t.Time = n.Time
	return nil
}
