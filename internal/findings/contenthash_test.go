package findings

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/ingest"
	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// contentHashBefore is contentHash as it was first written. Stored
// findings carry its hash: a different one would make every finding of the
// next import "changed", with a history entry each.
func contentHashBefore(f *ingest.Finding) string {
	h := sha256.New()
	for _, s := range []string{f.Title, f.Description, f.Severity.Key(), string(f.Result), f.ResourceName, f.ResourceType,
		f.Location, f.Component, f.Version, f.FixedVersion, strings.Join(f.VulnIDs, ","), f.Remediation, f.Service} {
		h.Write([]byte(s))
		h.Write([]byte{0x1f})
	}
	if len(f.Tags) > 0 {
		h.Write([]byte(strings.Join(f.Tags, "\x1e")))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func TestContentHashIsStable(t *testing.T) {
	long := strings.Repeat("a long description ", 300) // past contentHash's stack buffer
	var cases []*ingest.Finding
	for i, f := range []ingest.Finding{
		{},
		{Title: "t", Description: "d", Severity: ocsf.SeverityHigh, Result: ingest.ResultFail, Service: "s3"},
		{Title: "t", VulnIDs: []string{"CVE-1"}, Tags: []string{"env=prod"}},
		{Title: "t", VulnIDs: []string{"CVE-1", "CVE-2", "GHSA-x"}, Tags: []string{"a", "b=c", ""}},
		{Title: "t\x1fwith separators\x1e", Description: long, Remediation: long, ResourceName: "r", ResourceType: "rt",
			Location: "l", Component: "c", Version: "1", FixedVersion: "2", Severity: ocsf.SeverityCritical, Result: ingest.ResultPass},
	} {
		f.CheckID = fmt.Sprint(i) // not part of the content
		cases = append(cases, &f)
	}
	seen := map[string]bool{}
	for i, f := range cases {
		got, want := contentHash(f), contentHashBefore(f)
		if got != want {
			t.Errorf("case %d: hash %s, stored findings have %s", i, got, want)
		}
		seen[got] = true
	}
	if len(seen) != len(cases) {
		t.Errorf("%d distinct hashes for %d different contents", len(seen), len(cases))
	}
}
