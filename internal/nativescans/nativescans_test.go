package nativescans

import "testing"

// Each tool's reports land under the scan type a user looks for them in.
func TestTypeForTool(t *testing.T) {
	for tool, want := range map[string]ScanType{
		"prowler": TypeCloud, "powerpipe": TypeCloud, "securityhub": TypeCloud, "aws-inspector": TypeCloud, "aws-guardduty": TypeCloud,
		"nmap": TypeNetwork, "zap": TypeWeb, "nuclei": TypeWeb, "wapiti": TypeWeb, "trivy": TypeContainer, "grype": TypeContainer,
		"checkov": TypeCode, "osv": TypeCode, "sarif": TypeCode,
	} {
		if got := TypeForTool(tool); got != want {
			t.Errorf("%s: %s, want %s", tool, got, want)
		}
	}
}
