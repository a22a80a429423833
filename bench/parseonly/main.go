// Command parseonly decodes a report with the same parser cspm import uses
// and discards the findings: the floor an import cannot beat.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/offloadsecurity/cspm/internal/ingest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: parseonly FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1]) //nolint:gosec // G703: a benchmark reading the file it is given
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	start := time.Now()
	n := 0
	format, err := ingest.Parse(f, "", func(*ingest.Finding) error { n++; return nil })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	d := time.Since(start)
	fmt.Printf("decoded %d %s findings in %.2f s: %.0f findings/s\n", n, format, d.Seconds(), float64(n)/d.Seconds())
}
