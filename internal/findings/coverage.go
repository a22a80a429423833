package findings

import (
	"fmt"
	"strings"
)

// ParseCoverage reads a scope as a user names it (cspm import scope, the
// import API's ?scope=): target=X, or account=ID[,region=R]; "" is none.
func ParseCoverage(s string) ([]Coverage, error) {
	if s == "" {
		return nil, nil
	}
	var c Coverage
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return nil, fmt.Errorf("scope %q: want target=X or account=ID,region=R", s)
		}
		switch k {
		case "target":
			c.Target = v
		case "account":
			c.AccountUID = v
		case "region":
			c.Region = v
		default:
			return nil, fmt.Errorf("scope: unknown key %q (target, account, region)", k)
		}
	}
	if c.Target != "" && c.AccountUID != "" || c.Region != "" && c.AccountUID == "" {
		return nil, fmt.Errorf("scope %q: want target=X or account=ID,region=R", s)
	}
	return []Coverage{c}, nil
}
