package findings

import "testing"

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"", "anything", true},
		{"s3_*", "s3_bucket_public_access", true},
		{"S3_*", "s3_bucket", true},
		{"*public*", "s3_bucket_public_access", true},
		{"s3_?ucket*", "s3_bucket_x", true},
		{"s3_*", "ec2_instance", false},
		{"arn:aws:s3:::logs-*", "arn:aws:s3:::logs-2026/a/b", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"100%", "100%", true},
		{"100%", "1000", false},
	}
	for _, c := range cases {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
	if got := globToLike(`a*b?c%d_e\f`); got != `a%b_c\%d\_e\\f` {
		t.Errorf("globToLike = %q", got)
	}
}
