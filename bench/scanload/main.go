// Command scanload measures scan orchestration through the API of a
// running cspm: how long POST /api/v1/scans takes to plan and enqueue a
// ScanRun of N SubJobs (-plan), and how long the workers take to drain a
// run of N SubJobs whose tool returns at once (-drain).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"slices"
	"time"

	"github.com/offloadsecurity/cspm/bench/internal/benchclient"
)

type run struct {
	ID           string    `json:"id"`
	Status       string    `json:"status"`
	SubJobsTotal int       `json:"subjobs_total"`
	SubJobsDone  int       `json:"subjobs_done"`
	CreatedAt    time.Time `json:"created_at"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at"`
}

func main() {
	base := flag.String("url", "http://127.0.0.1:18385", "cspm base URL")
	password := flag.String("password", "", "admin@cspm.local's password")
	plan := flag.Int("plan", 0, "plan and enqueue runs of this many SubJobs")
	repeat := flag.Int("repeat", 5, "how many runs to plan")
	drain := flag.Int("drain", 0, "start a run of this many SubJobs and wait until it finishes")
	label := flag.String("label", "", "what to call the drain in the output")
	flag.Parse()
	token, err := benchclient.APIToken(*base, "admin@cspm.local", *password)
	if err != nil {
		log.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Minute}
	call := func(method, path string, body any, out any) {
		var buf bytes.Buffer
		if body != nil {
			_ = json.NewEncoder(&buf).Encode(body)
		}
		req, _ := http.NewRequest(method, *base+path, &buf)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := c.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode >= 300 {
			log.Fatalf("%s %s = %d", method, path, res.StatusCode)
		}
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			log.Fatal(err)
		}
	}
	start := func(n int, salt string) (run, time.Duration) {
		targets := make([]string, n)
		for i := range targets {
			targets[i] = fmt.Sprintf("registry.example/bench-%s:%d", salt, i)
		}
		var r run
		t0 := time.Now()
		call("POST", "/api/v1/scans", map[string]any{"type": "container", "tool": "trivy", "targets": targets}, &r)
		d := time.Since(t0)
		if r.SubJobsTotal != n {
			log.Fatalf("planned %d SubJobs, want %d", r.SubJobsTotal, n)
		}
		return r, d
	}

	if *plan > 0 {
		var ds []time.Duration
		for i := 0; i < *repeat; i++ {
			_, d := start(*plan, fmt.Sprint("p", i))
			ds = append(ds, d)
		}
		slices.Sort(ds)
		fmt.Printf("plan and enqueue %d SubJobs (POST /api/v1/scans, %d runs): median %s, min %s, max %s\n",
			*plan, *repeat, ds[len(ds)/2].Round(time.Millisecond), ds[0].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	}
	if *drain > 0 {
		r, _ := start(*drain, "d")
		t0 := time.Now()
		for {
			call("GET", "/api/v1/scans/"+r.ID, nil, &r)
			if r.Status != "queued" && r.Status != "running" {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		wall := time.Since(t0)
		span := r.FinishedAt.Sub(r.StartedAt)
		fmt.Printf("%s: %d SubJobs %s in %s (first start to last finish %s): %.1f SubJobs/s, %.1f ms each\n",
			*label, r.SubJobsTotal, r.Status, wall.Round(time.Millisecond), span.Round(time.Millisecond),
			float64(r.SubJobsTotal)/span.Seconds(), float64(span.Milliseconds())/float64(r.SubJobsTotal))
	}
}
