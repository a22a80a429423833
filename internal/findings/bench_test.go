package findings_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
)

// benchReport reads the report named by CSPM_BENCH_REPORT, or skips.
func benchReport(b *testing.B) []byte {
	b.Helper()
	path := os.Getenv("CSPM_BENCH_REPORT")
	if path == "" {
		b.Skip("CSPM_BENCH_REPORT not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// benchStore is a store on a fresh SQLite database, or on PostgreSQL when
// CSPM_BENCH_POSTGRES_URL is set.
func benchStore(b *testing.B) *findings.Store {
	b.Helper()
	engine := dbtest.Engine{Name: "sqlite"}
	if u := os.Getenv("CSPM_BENCH_POSTGRES_URL"); u != "" {
		engine = dbtest.Engine{Name: "postgres", URL: u}
	}
	return findings.NewStore(dbtest.Open(b, engine))
}

func benchImport(b *testing.B, st *findings.Store, team string, data []byte) {
	b.Helper()
	if _, err := st.Import(context.Background(), bytes.NewReader(data), findings.ImportParams{TeamID: team}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkImport imports the report in $CSPM_BENCH_REPORT (write one with
// go run ./bench/genprowler) into a fresh SQLite registry (PostgreSQL with
// $CSPM_BENCH_POSTGRES_URL), once per iteration.
func BenchmarkImport(b *testing.B) {
	data := benchReport(b)
	for b.Loop() {
		b.StopTimer()
		st := benchStore(b)
		b.StartTimer()
		benchImport(b, st, id.New(), data)
	}
}

// BenchmarkReimport measures importing the same report a second time into
// the same team: every finding is looked up and found unchanged.
func BenchmarkReimport(b *testing.B) {
	data := benchReport(b)
	for b.Loop() {
		b.StopTimer()
		st, team := benchStore(b), id.New()
		benchImport(b, st, team, data)
		b.StartTimer()
		benchImport(b, st, team, data)
	}
}
