package library

import (
	"os"
	"path/filepath"
	"testing"
)

// samplesDir is the shared folder of real third-party samples, beside the
// repository (as on every developer machine and in CI). The SCF workbook's
// licence (CC BY-ND) and the library YAML's packaging (AGPL) are why these
// are read in place rather than copied into testdata.
const samplesDir = "../../../../shared/samples"

// sample reads a file of the shared samples; a missing file fails the test,
// since every test that asks for one is about that file.
func sample(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, filepath.FromSlash(rel)))
	if err != nil {
		tb.Fatalf("shared sample %s: %v", rel, err)
	}
	return b
}

const (
	scfWorkbookSample = "scf/scf-2022.2.1.xlsx"
	scfLibrarySample  = "frameworks/scf-2025.2.2.yaml"
	csfLibrarySample  = "frameworks/nist-csf-2.0.yaml"
	csfSCFMapSample   = "frameworks/mapping-nist-csf-2.0-and-scf-2025.2.2.yaml"
)

var prowlerSamples = []string{
	"prowler/compliance/cis_3.0_aws.json",
	"prowler/compliance/iso27001_2022_aws.json",
	"prowler/compliance/nist_800_53_revision_5_aws.json",
	"prowler/compliance/nist_csf_2.0_aws.json",
	"prowler/compliance/soc2_aws.json",
}
