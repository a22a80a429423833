package findings_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// prowlerWithTags is a Prowler OCSF report of failing checks on resources
// with the given tags (Key/Value pairs, as Prowler writes them).
func prowlerWithTags(resources map[string][][2]string) string {
	var items []string
	for uid, tags := range resources {
		var pairs []string
		for _, kv := range tags {
			pairs = append(pairs, fmt.Sprintf(`{"Key":%q,"Value":%q}`, kv[0], kv[1]))
		}
		items = append(items, fmt.Sprintf(`{"class_uid":2004,"finding_info":{"uid":"f-%s"},"metadata":{"event_code":"s3_check"},"status_code":"FAIL",
			"cloud":{"provider":"aws","account":{"uid":"111122223333"},"region":"eu-west-1"},
			"resources":[{"uid":%q,"data":{"metadata":{"tags":[%s]}}}]}`, uid, uid, strings.Join(pairs, ",")))
	}
	return "[" + strings.Join(items, ",") + "]"
}

// Mute rules by resource tag: key=value or a bare key, case-insensitive,
// applied to what is stored and at ingestion; LIKE's wildcards in a tag
// are literal.
func TestMuteRuleByTag(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		doc := prowlerWithTags(map[string][][2]string{
			"arn:dev":   {{"Env", "dev"}, {"Owner", "alice"}},
			"arn:prod":  {{"env", "prod"}},
			"arn:dxv":   {{"env", "dxv"}},
			"arn:plain": nil,
		})
		res, err := st.Import(ctx, strings.NewReader(doc), findings.ImportParams{TeamID: "t1"})
		if err != nil || res.FindingsCreated != 4 {
			t.Fatalf("import %+v %v", res, err)
		}
		list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Scan: res.ScanID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		tags := map[string]string{}
		for _, f := range list.Findings {
			tags[f.ResourceUID] = strings.Join(f.ResourceTags, ",")
		}
		if tags["arn:dev"] != "env=dev,owner=alice" || tags["arn:plain"] != "" {
			t.Fatalf("stored tags %v", tags)
		}
		if _, _, err := st.MuteRuleCreate(ctx, "t1", "a@example.com", findings.MuteRule{Tag: "a|b", Reason: "bad"}); !errors.Is(err, findings.ErrInvalidRule) {
			t.Fatalf("tag with a delimiter: %v", err)
		}
		// "env=d_v" must not match "env=dxv" (nor "env=dev"): '_' is literal.
		if _, n, err := st.MuteRuleCreate(ctx, "t1", "a@example.com", findings.MuteRule{Tag: "env=d_v", Reason: "no match"}); err != nil || n != 0 {
			t.Fatalf("literal underscore muted %d: %v", n, err)
		}
		if _, n, err := st.MuteRuleCreate(ctx, "t1", "a@example.com", findings.MuteRule{Tag: "ENV=DEV", Reason: "dev accounts are sandboxes"}); err != nil || n != 1 {
			t.Fatalf("key=value rule muted %d: %v", n, err)
		}
		if _, n, err := st.MuteRuleCreate(ctx, "t1", "a@example.com", findings.MuteRule{Tag: "env", Tool: "prowler", Reason: "every env-tagged resource"}); err != nil || n != 2 {
			t.Fatalf("bare key rule muted %d (want prod and dxv): %v", n, err)
		}
		// At ingestion: a new resource tagged owner=... is muted by a rule on the key.
		if _, _, err := st.MuteRuleCreate(ctx, "t1", "a@example.com", findings.MuteRule{Tag: "owner", Reason: "owned resources are triaged elsewhere"}); err != nil {
			t.Fatal(err)
		}
		res2, err := st.Import(ctx, strings.NewReader(prowlerWithTags(map[string][][2]string{"arn:new": {{"Owner", "bob"}}})), findings.ImportParams{TeamID: "t1"})
		if err != nil {
			t.Fatal(err)
		}
		l2, _ := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Scan: res2.ScanID, Status: []string{"muted"}})
		if l2.Total != 1 || l2.Findings[0].ResourceUID != "arn:new" {
			t.Fatalf("new tagged finding not muted at ingestion: %+v", l2)
		}
		// The untagged finding was never muted; the second report of the
		// same scope no longer lists it, so it is resolved.
		resolved, _ := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Status: []string{"resolved"}})
		if resolved.Total != 1 || resolved.Findings[0].ResourceUID != "arn:plain" {
			t.Fatalf("resolved findings %+v", resolved)
		}
	})
}
