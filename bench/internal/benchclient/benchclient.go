// Package benchclient signs the benchmark tools in to a running cspm.
package benchclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"time"
)

// APIToken signs in with a session, then creates and returns an API token.
func APIToken(base, email, password string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second}
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	res, err := c.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		return "", err
	}
	var lr struct {
		CSRFToken string `json:"csrf_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&lr)
	res.Body.Close()
	if res.StatusCode != 200 {
		return "", fmt.Errorf("login = %d", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/auth/tokens", strings.NewReader(`{"name":"bench","expires_in_days":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", lr.CSRFToken)
	res, err = c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var tok struct {
		Secret string `json:"secret"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.Secret == "" {
		return "", fmt.Errorf("create API token = %d", res.StatusCode)
	}
	return tok.Secret, nil
}
