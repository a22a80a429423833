package ingest

import (
	"encoding/json"
	"slices"
	"strings"
)

// Resource tags are kept as "key=value" strings (or "key" for a tag
// without a value), sorted and without duplicates. Tools write them in many
// shapes; these readers accept the ones Prowler uses across versions.

// normalizeTag turns "key:value", "key=value" or "key" into "key=value" or "key".
func normalizeTag(t string) string {
	t = strings.TrimSpace(t)
	if t == "" {
		return ""
	}
	k, v, ok := strings.Cut(t, "=")
	if !ok {
		k, v, ok = strings.Cut(t, ":")
	}
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if k == "" {
		return ""
	}
	// The store keeps tags between '|' delimiters.
	k, v = strings.ReplaceAll(k, "|", "_"), strings.ReplaceAll(v, "|", "_")
	if !ok {
		return k
	}
	return k + "=" + v
}

func tidyTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t = normalizeTag(t); t != "" && len(t) <= 512 {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 100 {
		out = out[:100]
	}
	return out
}

// tagsFromJSON reads tags as a list of {"Key","Value"} (or lowercase)
// objects, an object of key to value, or a list of strings.
func tagsFromJSON(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var pairs []struct {
		Key, Value string
	}
	if json.Unmarshal(raw, &pairs) == nil {
		out := make([]string, 0, len(pairs))
		for _, p := range pairs {
			if p.Key != "" {
				out = append(out, p.Key+"="+p.Value)
			}
		}
		return out
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		out := make([]string, 0, len(m))
		for k, v := range m {
			if s, ok := v.(string); ok {
				out = append(out, k+"="+s)
			} else {
				out = append(out, k)
			}
		}
		return out
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	return nil
}

// tagsFromCSV reads Prowler CSV's RESOURCE_TAGS: "k1=v1 | k2=v2" (or
// comma-separated).
func tagsFromCSV(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	sep := "|"
	if !strings.Contains(s, "|") {
		sep = ","
	}
	return strings.Split(s, sep)
}
