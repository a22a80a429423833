package ingest

import (
	"slices"
	"strings"
	"testing"
)

// Resource tags, in the shapes Prowler writes them: OCSF labels
// ("key:value"), data.metadata.tags as Key/Value pairs or an object, and
// the CSV's RESOURCE_TAGS column.
func TestResourceTags(t *testing.T) {
	ocsfDoc := `[{"class_uid":2004,"finding_info":{"uid":"u1"},"metadata":{"event_code":"c1"},"status_code":"FAIL",
	  "resources":[{"uid":"arn:1","labels":["Owner:alice"],"data":{"metadata":{"tags":[{"Key":"Env","Value":"prod"},{"Key":"team","Value":"a|b"}]}}}]},
	 {"class_uid":2004,"finding_info":{"uid":"u2"},"metadata":{"event_code":"c1"},"status_code":"FAIL",
	  "resources":[{"uid":"arn:2","data":{"metadata":{"tags":{"env":"dev","legacy":true}}}}]},
	 {"class_uid":2004,"finding_info":{"uid":"u3"},"metadata":{"event_code":"c1"},"status_code":"FAIL","resources":[{"uid":"arn:3"}]}]`
	var got [][]string
	if _, err := Parse(strings.NewReader(ocsfDoc), "prowler-ocsf", func(f *Finding) error { got = append(got, f.Tags); return nil }); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"Env=prod", "Owner=alice", "team=a_b"}, {"env=dev", "legacy"}, {}}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("finding %d tags %q, want %q", i, got[i], want[i])
		}
	}
	if g := tidyTags(tagsFromCSV("env=prod | owner=bob | env=prod")); !slices.Equal(g, []string{"env=prod", "owner=bob"}) {
		t.Errorf("csv tags %q", g)
	}
	if g := tidyTags(tagsFromCSV("a=1, b=2")); !slices.Equal(g, []string{"a=1", "b=2"}) {
		t.Errorf("comma csv tags %q", g)
	}
	if g := tidyTags([]string{" ", "=x", ":y"}); len(g) != 0 {
		t.Errorf("empty keys kept: %q", g)
	}
}
