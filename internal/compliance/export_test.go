package compliance

import "testing"

// A cell a spreadsheet would read as a formula is quoted (CSV injection).
func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+x": "'+x", "-x": "'-x", "@x": "'@x", "\tx": "'\tx", "\rx": "'\rx",
		"GOV-01": "GOV-01", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}
