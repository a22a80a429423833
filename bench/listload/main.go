// Command listload measures a list endpoint (GET /api/v1/findings by
// default, or -path) under concurrent clients:
// -clients goroutines each request one filtered page after another for
// -duration, and the latency percentiles are printed. It signs in with the
// given credentials and uses an API token.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/offloadsecurity/cspm/bench/internal/benchclient"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18383", "cspm base URL")
	email := flag.String("email", "admin@cspm.local", "user")
	password := flag.String("password", "", "password")
	clients := flag.Int("clients", 16, "concurrent clients")
	duration := flag.Duration("duration", 20*time.Second, "how long")
	path := flag.String("path", "/api/v1/findings", "list endpoint")
	query := flag.String("query", "severity=high,critical&status=open&limit=50", "query string of the list")
	flag.Parse()

	token, err := benchclient.APIToken(*base, *email, *password)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listload:", err)
		os.Exit(1)
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *clients}}
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	end := time.Now().Add(*duration)
	total := 0
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				req, _ := http.NewRequest("GET", *base+*path+"?"+*query, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				start := time.Now()
				res, err := client.Do(req)
				d := time.Since(start)
				ok := err == nil && res.StatusCode == 200
				if err == nil {
					var body struct {
						Total int `json:"total"`
					}
					_ = json.NewDecoder(res.Body).Decode(&body)
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					mu.Lock()
					total = body.Total
					mu.Unlock()
				}
				mu.Lock()
				if ok {
					lat = append(lat, d)
				} else {
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	p := func(q float64) time.Duration { return benchclient.Percentile(lat, q).Round(time.Millisecond) }
	fmt.Printf("GET %s?%s (%d matching) at %d clients for %v: %d requests (%.0f/s), p50 %v, p95 %v, p99 %v, errors %d\n",
		*path, *query, total, *clients, *duration, len(lat), float64(len(lat))/duration.Seconds(), p(.5), p(.95), p(.99), errs)
}
