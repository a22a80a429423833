package library

import "testing"

func TestNormalizeRef(t *testing.T) {
	for _, tc := range []struct{ family, ref, want string }{
		// NIST 800-53: Prowler, the catalogue, padded, Security Hub, dotted.
		{"nist-800-53", "ac_2_1", "ac-2(1)"},
		{"nist-800-53", "AC-2(1)", "ac-2(1)"},
		{"nist-800-53", "AC-02(01)", "ac-2(1)"},
		{"nist-800-53", "NIST.800-53.r5 AC-2(1)", "ac-2(1)"},
		{"nist-800-53", "NIST SP 800-53 R5 AC-2(1)", "ac-2(1)"},
		{"nist-800-53", "ac-2.1", "ac-2(1)"},
		{"nist-800-53", "AC-2 (1)", "ac-2(1)"},
		{"nist-800-53", "AC-2", "ac-2"},
		{"nist-800-53", "ac_2", "ac-2"},
		{"nist-800-53", " AC-2 ", "ac-2"},
		{"nist-800-53", "ac_2_3_a", "ac-2(3)(a)"},
		{"nist-800-53", "AC-2(3)(a)", "ac-2(3)(a)"},
		{"nist-800-53", "ac_2_d_1", "ac-2(d)(1)"},
		{"nist-800-53", "cp_1_a_1_b", "cp-1(a)(1)(b)"},
		{"nist-800-53", "si_4_a", "si-4(a)"},
		{"nist-800-53", "SC-7(3)", "sc-7(3)"},
		{"nist-800-53", "sc_7_3", "sc-7(3)"},
		{"nist-800-53", "AC-2(1) Automated System Account Management", "ac-2(1)"},
		{"nist-800-53-r4", "AC-02(01)", "ac-2(1)"},
		{"nist-800-53", "not a control", "not a control"},
		// NIST CSF 1.1 and 2.0: two-digit subcategories.
		{"nist-csf-2.0", "GV.OC-1", "gv.oc-01"},
		{"nist-csf-2.0", "gv.oc-01", "gv.oc-01"},
		{"nist-csf-2.0", "GV.OC-01", "gv.oc-01"},
		{"nist-csf-2.0", "gv_oc_1", "gv.oc-01"},
		{"nist-csf-2.0", "GV.OC", "gv.oc"},
		{"nist-csf-2.0", "GV", "gv"},
		{"nist-csf-1.1", "ID.AM-1", "id.am-01"},
		{"nist-csf-1.1", "PR.IP-12", "pr.ip-12"},
		{"nist-csf-2.0", "oc_1", "oc_1"}, // not a whole reference: kept as written
		// SCF.
		{"scf", "GOV-02", "gov-02"},
		{"scf", "gov-02", "gov-02"},
		{"scf", "GOV-2", "gov-02"},
		{"scf", "GOV-01.1", "gov-01.1"},
		{"scf", "GOV-1.01", "gov-01.1"},
		{"scf", "IAC-10.12", "iac-10.12"},
		{"scf", "GOV", "gov"},
		// ISO 27001 / 27002.
		{"iso27001-2022", "A.5.1", "a.5.1"},
		{"iso27001-2022", "a.05.01", "a.5.1"},
		{"iso27001-2022", "A 5.1", "a.5.1"},
		{"iso27001-2022", "Annex A.5.1", "a.5.1"},
		{"iso27001-2013", "A.5.1.1", "a.5.1.1"},
		{"iso27001-2013", "5.1", "5.1"},
		{"iso27001-2013", "clause 6.1.1", "6.1.1"},
		{"iso27002-2022", "5.10", "5.10"},
		// CIS.
		{"cis-aws-3.0", "1.10", "1.10"},
		{"cis-aws-3.0", "2.1.1", "2.1.1"},
		{"cis-csc-8.0", "CIS 4.1", "4.1"},
		// SOC 2: Prowler's underscores, the criteria's own spelling.
		{"soc2", "CC6.1", "cc6.1"},
		{"soc2", "cc_6_1", "cc6.1"},
		{"soc2", "cc_a_1_1", "a1.1"},
		{"soc2", "cc_c_1_2", "c1.2"},
		{"soc2", "pi_1_5", "pi1.5"},
		{"soc2", "PI1.5", "pi1.5"},
		{"soc2", "CC1.0", "cc1.0"},
		// PCI DSS.
		{"pci-dss-4.0", "1.2.3", "1.2.3"},
		{"pci-dss-4.0", "Req 1.2.3", "1.2.3"},
		{"pci-dss-4.0", "Requirement 12.10.1", "12.10.1"},
		{"pci-dss-4.0", "A3.1.2", "a3.1.2"},
		// Default: lower-case, trimmed, inner whitespace folded.
		{"", "  Art 32.1  ", "art 32.1"},
		{"cobit", "EDM01.02\t X", "edm01.02 x"},
		{"", "", ""},
	} {
		if got := NormalizeRef(tc.family, tc.ref); got != tc.want {
			t.Errorf("NormalizeRef(%q, %q) = %q, want %q", tc.family, tc.ref, got, tc.want)
		}
	}
}

func TestFamilyOf(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"NIST-800-53-Revision-5", "nist-800-53"},
		{"NIST 800-53 rev5", "nist-800-53"},
		{"NIST\n800-53\nrev5", "nist-800-53"},
		{"NIST SP 800-53 R5", "nist-800-53"},
		{"NIST.800-53.r5", "nist-800-53"},
		{"NIST-800-53-Revision-4", "nist-800-53-r4"},
		{"NIST 800-53 rev4", "nist-800-53-r4"},
		{"NIST 800-53A", ""},
		{"NIST-CSF-2.0", "nist-csf-2.0"},
		{"NIST CSF v2.0", "nist-csf-2.0"},
		{"NIST-CSF 2.0 AWS", "nist-csf-2.0"},
		{"NIST CSF version 2.0", "nist-csf-2.0"},
		{"National Institute of Standards and Technology (NIST) Cybersecurity Framework (CSF) v2.0", "nist-csf-2.0"},
		{"NIST CSF v1.1", "nist-csf-1.1"},
		{"NIST Privacy Framework v1.0", ""},
		{"SWIFT CSF v2021", ""},
		{"ISO 27001 v2013", "iso27001-2013"},
		{"ISO\n27001\nv2013", "iso27001-2013"},
		{"ISO27001 2022 AWS", "iso27001-2022"},
		{"ISO/IEC 27001:2022", "iso27001-2022"},
		{"ISO 27002 v2022", "iso27002-2022"},
		{"CIS CSC v8.0", "cis-csc-8.0"},
		{"CIS Controls v8", "cis-csc-8.0"},
		{"CIS 3.0 AWS", "cis-aws-3.0"},
		{"CIS Amazon Web Services Foundations Benchmark v3.0.0", "cis-aws-3.0"},
		{"SCF", "scf"},
		{"scf-2025.2.2", "scf"},
		{"SCF: Secure Controls Framework (2025.2.2)", "scf"},
		{"CSA IoT SCF v2", ""},
		{"SOC2", "soc2"},
		{"AICPA TSC 2017 (SOC 2)", "soc2"},
		{"PCIDSS v3.2", "pci-dss-3.2"},
		{"PCI DSS v3.2.1", "pci-dss-3.2"},
		{"PCIDSS v4.0", "pci-dss-4.0"},
		{"PCI DSS 4.0.1", "pci-dss-4.0"},
		{"NIST 800-171 rev 2", "nist-800-171-r2"},
		{"COBIT 2019", ""},
		{"", ""},
	} {
		if got := FamilyOf(tc.name); got != tc.want {
			t.Errorf("FamilyOf(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
