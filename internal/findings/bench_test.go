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

// BenchmarkImport imports the report in $CSPM_BENCH_REPORT (write one with
// go run ./bench/genprowler) into a fresh SQLite registry (PostgreSQL with
// $CSPM_BENCH_POSTGRES_URL), once per iteration.
func BenchmarkImport(b *testing.B) {
	path := os.Getenv("CSPM_BENCH_REPORT")
	if path == "" {
		b.Skip("CSPM_BENCH_REPORT not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		engine := dbtest.Engine{Name: "sqlite"}
		if u := os.Getenv("CSPM_BENCH_POSTGRES_URL"); u != "" {
			engine = dbtest.Engine{Name: "postgres", URL: u}
		}
		reg := dbtest.Open(b, engine)
		st := findings.NewStore(reg)
		b.StartTimer()
		if _, err := st.Import(context.Background(), bytes.NewReader(data), findings.ImportParams{TeamID: id.New()}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReimport measures importing the same report a second time into
// the same team: every finding is looked up and found unchanged.
func BenchmarkReimport(b *testing.B) {
	path := os.Getenv("CSPM_BENCH_REPORT")
	if path == "" {
		b.Skip("CSPM_BENCH_REPORT not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		engine := dbtest.Engine{Name: "sqlite"}
		if u := os.Getenv("CSPM_BENCH_POSTGRES_URL"); u != "" {
			engine = dbtest.Engine{Name: "postgres", URL: u}
		}
		st := findings.NewStore(dbtest.Open(b, engine))
		team := id.New()
		if _, err := st.Import(context.Background(), bytes.NewReader(data), findings.ImportParams{TeamID: team}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := st.Import(context.Background(), bytes.NewReader(data), findings.ImportParams{TeamID: team}); err != nil {
			b.Fatal(err)
		}
	}
}
