// Package logging builds the process's slog logger: human-readable text on a
// terminal, JSON lines for log collectors otherwise.
package logging

import (
	"io"
	"log/slog"
	"os"
)

// New returns a logger writing to w at level in format ("auto", "text" or "json").
func New(w io.Writer, level slog.Level, format string) *slog.Logger {
	if format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
