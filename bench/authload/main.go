// Command authload measures what issue 3 asks of sign-in:
//
//   - login latency: sequential successful sign-ins (one PBKDF2 at 600,000
//     iterations each), no other load;
//   - the latency of GET /api/v1/auth/me while -flood clients send wrong
//     passwords for random emails as fast as they can (credential stuffing).
//
// It talks to a running cspm serve; bench/auth.sh starts one with and
// without the bounded hashing pool and runs this against each.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/offloadsecurity/cspm/bench/internal/benchclient"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18282", "cspm base URL")
	email := flag.String("email", "admin@cspm.local", "an existing user")
	password := flag.String("password", "", "that user's password")
	flood := flag.Int("flood", 50, "concurrent clients sending wrong passwords")
	readers := flag.Int("readers", 4, "concurrent clients calling GET /api/v1/auth/me")
	duration := flag.Duration("duration", 15*time.Second, "how long the flood lasts")
	logins := flag.Int("logins", 20, "sequential sign-ins for the latency figure")
	flag.Parse()
	if err := run(*base, *email, *password, *flood, *readers, *duration, *logins); err != nil {
		fmt.Fprintln(os.Stderr, "authload:", err)
		os.Exit(1)
	}
}

func login(c *http.Client, base, email, password string) (int, []byte, error) {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	res, err := c.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body, nil
}

func run(base, email, password string, flood, readers int, duration time.Duration, logins int) error {
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

	// 1. Login latency, alone.
	var lat []time.Duration
	for i := 0; i < logins; i++ {
		start := time.Now()
		status, body, err := login(client, base, email, password)
		if err != nil || status != 200 {
			return fmt.Errorf("login = %d %s: %w", status, body, err)
		}
		lat = append(lat, time.Since(start))
	}
	fmt.Printf("login latency (%d sequential sign-ins): p50 %v, p95 %v, max %v\n",
		logins, benchclient.Percentile(lat, .5).Round(time.Millisecond), benchclient.Percentile(lat, .95).Round(time.Millisecond), benchclient.Percentile(lat, 1).Round(time.Millisecond))

	secret, err := benchclient.APIToken(base, email, password)
	if err != nil {
		return err
	}

	// 2. The flood, and readers measuring /auth/me meanwhile.
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var (
		wg                  sync.WaitGroup
		floodDone, flood503 atomic.Int64
		mu                  sync.Mutex
		meLat               []time.Duration
		meErr               atomic.Int64
	)
	for i := 0; i < flood; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				r := make([]byte, 6)
				_, _ = rand.Read(r)
				status, _, err := login(client, base, "stuffing-"+hex.EncodeToString(r)+"@example.com", "wrong-password-123")
				if err == nil {
					floodDone.Add(1)
					if status == 503 {
						flood503.Add(1)
					}
				}
			}
		}()
	}
	time.Sleep(time.Second) // let the flood build up
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequest("GET", base+"/api/v1/auth/me", nil)
				req.Header.Set("Authorization", "Bearer "+secret)
				start := time.Now()
				res, err := client.Do(req)
				d := time.Since(start)
				if err != nil {
					meErr.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					meErr.Add(1)
					continue
				}
				mu.Lock()
				meLat = append(meLat, d)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("GET /api/v1/auth/me during a flood of %d wrong-password clients (%v): %d calls, p50 %v, p95 %v, p99 %v, errors %d\n",
		flood, duration, len(meLat), benchclient.Percentile(meLat, .5).Round(time.Microsecond), benchclient.Percentile(meLat, .95).Round(time.Microsecond),
		benchclient.Percentile(meLat, .99).Round(time.Microsecond), meErr.Load())
	fmt.Printf("flood: %d failed sign-ins answered (%.1f/s), %d of them 503 busy\n",
		floodDone.Load(), float64(floodDone.Load())/duration.Seconds(), flood503.Load())
	return nil
}
