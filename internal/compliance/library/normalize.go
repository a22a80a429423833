package library

import (
	"regexp"
	"strings"
)

// The families FamilyOf returns. A family names one version of a framework
// as far as its requirement identifiers go: the engine joins Prowler check
// maps, SCF crosswalk columns and library frameworks on it, so two versions
// whose identifiers mean different things (NIST 800-53 rev4 and rev5, ISO
// 27001:2013 and 2022, NIST CSF 1.1 and 2.0, PCI DSS 3.2 and 4.0) are two
// families, while editorial revisions that keep the numbering (PCI DSS 4.0.1,
// CIS benchmark 3.0.0) fold into their major.minor.
//
// Versioned families are built as prefix + version, e.g. "nist-csf-2.0",
// "iso27001-2022", "cis-csc-8.0", "cis-aws-3.0", "pci-dss-4.0",
// "nist-800-171-r2". The unversioned "nist-800-53" is revision 5, the
// current one (Prowler, Security Hub and the SCF all name it so); older
// revisions carry "-r4" / "-r3".
const (
	FamilySCF         = "scf"
	FamilyNIST80053   = "nist-800-53"
	FamilyNIST80053R4 = "nist-800-53-r4"
	FamilySOC2        = "soc2"
)

var (
	spaceRun = regexp.MustCompile(`\s+`)
	// nameToken splits a framework name into words and numbers, keeping a
	// dotted version ("2.0", "3.2.1") whole: "NIST.800-53.r5" gives nist 800
	// 53 r 5, "ISO27001 v2013" gives iso 27001 v 2013.
	nameToken = regexp.MustCompile(`[a-z]+|[0-9]+(?:\.[0-9]+)*`)
	version   = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)*$`)
)

// FamilyOf returns the normalization family of a framework from any of its
// names: a Prowler "Framework" (with its Version and Provider appended by the
// caller when the name lacks them), an SCF crosswalk header, a library's
// ref_id or name. It returns "" for a framework it does not know, so that an
// unknown framework never matches another by accident.
func FamilyOf(name string) string {
	toks := nameToken.FindAllString(strings.ToLower(name), -1)
	if len(toks) == 0 {
		return ""
	}
	has := func(w string) int {
		for i, t := range toks {
			if t == w {
				return i
			}
		}
		return -1
	}
	after := func(i int) []string {
		if i+1 < len(toks) {
			return toks[i+1:]
		}
		return nil
	}
	joined := " " + strings.Join(toks, " ") + " "
	switch {
	case toks[0] == "scf" || strings.Contains(joined, " secure controls framework "):
		return FamilySCF
	case strings.Contains(joined, " 800 53 "):
		rest := toks[has("53")+1:]
		if len(rest) > 0 && rest[0] == "a" { // 800-53A: assessment procedures, other identifiers
			return ""
		}
		switch revisionOf(rest) {
		case "", "5":
			return FamilyNIST80053
		case "4":
			return FamilyNIST80053R4
		default:
			return FamilyNIST80053 + "-r" + revisionOf(rest)
		}
	case strings.Contains(joined, " 800 171 "):
		rest := toks[has("171")+1:]
		if len(rest) > 0 && rest[0] == "a" {
			return ""
		}
		if r := revisionOf(rest); r != "" {
			return "nist-800-171-r" + r
		}
		return "nist-800-171"
	case has("nist") >= 0 && (has("csf") >= 0 || strings.Contains(joined, " cybersecurity framework ")):
		if v := firstVersion(after(max(has("csf"), has("framework")))); v != "" {
			return "nist-csf-" + v
		}
		return "nist-csf"
	case has("iso") >= 0:
		for i, t := range after(has("iso")) {
			if len(t) == 5 && version.MatchString(t) { // 27001, 27002, 22301...
				fam := "iso" + t
				for _, y := range toks[has("iso")+i+2:] {
					if len(y) == 4 && version.MatchString(y) && (y[:2] == "19" || y[:2] == "20") {
						return fam + "-" + y
					}
				}
				return fam
			}
		}
		return ""
	case has("cis") >= 0:
		v := firstVersion(after(has("cis")))
		if has("csc") >= 0 || strings.Contains(joined, " critical security controls ") || has("controls") >= 0 {
			if v == "" {
				return "cis-csc"
			}
			return "cis-csc-" + v
		}
		for _, p := range []struct{ word, platform string }{
			{"aws", "aws"}, {"amazon", "aws"}, {"azure", "azure"}, {"gcp", "gcp"},
			{"google", "gcp"}, {"kubernetes", "kubernetes"}, {"m365", "m365"},
		} {
			if has(p.word) >= 0 {
				if v == "" {
					return "cis-" + p.platform
				}
				return "cis-" + p.platform + "-" + v
			}
		}
		return ""
	case strings.Contains(joined, " soc 2 ") || has("soc2") >= 0 ||
		(has("aicpa") >= 0 && has("tsc") >= 0) || strings.Contains(joined, " trust services criteria "):
		return FamilySOC2
	case has("pci") >= 0 || has("pcidss") >= 0:
		if v := firstVersion(after(max(has("pci"), has("pcidss"), has("dss")))); v != "" {
			return "pci-dss-" + v
		}
		return "pci-dss"
	}
	return ""
}

// revisionOf finds "rev 5", "revision 5", "r 5" or a bare "5" in the tokens
// after a publication number.
func revisionOf(toks []string) string {
	for i, t := range toks {
		if (t == "rev" || t == "revision" || t == "r") && i+1 < len(toks) && version.MatchString(toks[i+1]) {
			return trimZeros(strings.SplitN(toks[i+1], ".", 2)[0])
		}
	}
	if len(toks) > 0 && len(toks[0]) == 1 && version.MatchString(toks[0]) {
		return toks[0]
	}
	return ""
}

// firstVersion returns the first version-looking token as major.minor:
// "v8" -> "8.0", "3.0.0" -> "3.0", "4.0.1" -> "4.0". Years and publication
// numbers (four digits and more) are not versions here.
func firstVersion(toks []string) string {
	for _, t := range toks {
		if !version.MatchString(t) {
			continue
		}
		parts := strings.Split(t, ".")
		if len(parts[0]) > 2 {
			continue
		}
		minor := "0"
		if len(parts) > 1 {
			minor = trimZeros(parts[1])
		}
		return trimZeros(parts[0]) + "." + minor
	}
	return ""
}

// familyBase is the identifier scheme a family uses: every revision of NIST
// 800-53 writes "AC-2(1)", every version of ISO 27001 "A.5.1".
func familyBase(family string) string {
	for _, b := range []string{"nist-800-53", "nist-csf", "iso", "cis", "pci-dss"} {
		if strings.HasPrefix(family, b) {
			return b
		}
	}
	return family
}

// NormalizeRef returns the key of a requirement reference within a family:
// one spelling per requirement whichever source wrote it. It is idempotent,
// and a reference it cannot parse keeps its text, lower-cased and trimmed
// with inner whitespace folded, which is also what an unknown family gets.
func NormalizeRef(family, ref string) string {
	s := strings.ToLower(strings.TrimSpace(spaceRun.ReplaceAllString(ref, " ")))
	if s == "" {
		return ""
	}
	var k string
	switch familyBase(family) {
	case "nist-800-53":
		k = nist80053Ref(s)
	case "nist-csf":
		k = nistCSFRef(s)
	case FamilySCF:
		k = scfRef(s)
	case "iso":
		k = isoRef(s)
	case "cis":
		k = dottedRef(strings.TrimPrefix(s, "cis "))
	case FamilySOC2:
		k = soc2Ref(s)
	case "pci-dss":
		k = pciRef(s)
	}
	if k == "" {
		return s
	}
	return k
}

// nist80053Families are the control families of 800-53 rev5 and rev4
// (including rev4's privacy appendix), so that "sp 800" in "nist sp 800-53
// r5 ac-2(1)" is not taken for a control.
var nist80053Families = map[string]bool{
	"ac": true, "at": true, "au": true, "ca": true, "cm": true, "cp": true, "ia": true,
	"ir": true, "ma": true, "mp": true, "pe": true, "pl": true, "pm": true, "ps": true,
	"pt": true, "ra": true, "sa": true, "sc": true, "si": true, "sr": true,
	"ap": true, "ar": true, "di": true, "dm": true, "ip": true, "se": true, "tr": true, "ul": true,
}

var (
	nistControl = regexp.MustCompile(`(?:^|[^a-z])([a-z]{2})[-_. ]?([0-9]+)`)
	refToken    = regexp.MustCompile(`[a-z]+|[0-9]+`)
)

// nist80053Ref writes a control as "ac-2", an enhancement as "ac-2(1)" and a
// statement part as "ac-2(3)(a)" or "ac-2(d)(1)": Prowler's ac_2_3_a, the
// catalogue's AC-2(3)(a), the padded AC-02(03)(a) and Security Hub's
// "NIST.800-53.r5 AC-2(3)(a)" all come to that.
func nist80053Ref(s string) string {
	for _, m := range nistControl.FindAllStringSubmatchIndex(s, -1) {
		fam := s[m[2]:m[3]]
		if !nist80053Families[fam] {
			continue
		}
		var b strings.Builder
		b.WriteString(fam + "-" + trimZeros(s[m[4]:m[5]]))
		// The rest runs to the first blank that does not open a part,
		// so that a trailing title ("AC-2(1) Automated ...") is dropped.
		rest := s[m[5]:]
		for i := 0; i < len(rest); i++ {
			if rest[i] == ' ' && (i+1 >= len(rest) || rest[i+1] != '(') {
				rest = rest[:i]
				break
			}
		}
		for _, t := range refToken.FindAllString(rest, -1) {
			if t[0] >= '0' && t[0] <= '9' {
				t = trimZeros(t)
			}
			b.WriteString("(" + t + ")")
		}
		return b.String()
	}
	return ""
}

var nistCSF = regexp.MustCompile(`^([a-z]{2})[._ ]([a-z]{2})(?:[-_ ]0*([0-9]+))?$`)

// nistCSFRef writes a subcategory as "gv.oc-01" (two digits, as CSF 2.0
// does), a category as "gv.oc"; CSF 1.1's "ID.AM-1" becomes "id.am-01" too.
func nistCSFRef(s string) string {
	m := nistCSF.FindStringSubmatch(s)
	switch {
	case m == nil:
		return ""
	case m[3] == "":
		return m[1] + "." + m[2]
	case len(m[3]) == 1:
		return m[1] + "." + m[2] + "-0" + m[3]
	default:
		return m[1] + "." + m[2] + "-" + m[3]
	}
}

// nistCSFComplete tells whether a key names a whole subcategory: Prowler's
// CSF map writes "oc_1" without the function, which the caller must then
// take from the requirement's name.
var nistCSFComplete = regexp.MustCompile(`^[a-z]{2}\.[a-z]{2}-[0-9]{2,}$`)

var scfControl = regexp.MustCompile(`^([a-z]{2,4}) ?[-_ ] ?0*([0-9]+)(?:\.0*([0-9]+))?$`)

// scfRef writes a control as "gov-02" (two digits, as the SCF does) and a
// sub-control as "gov-01.1".
func scfRef(s string) string {
	m := scfControl.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	k := m[1] + "-" + m[2]
	if len(m[2]) == 1 {
		k = m[1] + "-0" + m[2]
	}
	if m[3] != "" {
		k += "." + m[3]
	}
	return k
}

var isoAnnex = regexp.MustCompile(`^(?:annex )?a ?\.? ?([0-9]+(?:\.[0-9]+)*)$`)

// isoRef keeps the Annex A prefix, since 27001's clause 5.1 and its control
// A.5.1 are different requirements: "A.05.1" -> "a.5.1", "5.1" -> "5.1".
func isoRef(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "clause "), "control ")
	if m := isoAnnex.FindStringSubmatch(s); m != nil {
		return "a." + dottedRef(m[1])
	}
	return dottedRef(s)
}

// dottedRef writes a dotted number without leading zeros in its parts
// ("01.10" -> "1.10"); "" when s is not one.
func dottedRef(s string) string {
	if !version.MatchString(s) {
		return ""
	}
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = trimZeros(p)
	}
	return strings.Join(parts, ".")
}

var soc2Criterion = regexp.MustCompile(`^([a-z]+(?:[-_. ][a-z]+)*)[-_. ]?([0-9]+)(?:[-_. ]([0-9]+))?$`)

// soc2Ref writes a criterion as "cc6.1", "a1.1", "pi1.2". Prowler writes
// cc_6_1 and, for the availability and confidentiality criteria, cc_a_1_1
// and cc_c_1_1: the category is the last word before the numbers.
func soc2Ref(s string) string {
	m := soc2Criterion.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	words := refToken.FindAllString(m[1], -1)
	k := words[len(words)-1] + trimZeros(m[2])
	if m[3] != "" {
		k += "." + trimZeros(m[3])
	}
	return k
}

var (
	pciPrefix   = regexp.MustCompile(`^(?:pci[- ]?dss )?(?:v?[0-9.]+ )?req(?:uirement)?\.? ?`)
	pciAppendix = regexp.MustCompile(`^a[0-9]+(?:\.[0-9]+)*$`)
)

// pciRef drops a "Req"/"Requirement" prefix: "Req 1.2.3" -> "1.2.3"; the
// appendix requirements keep their letter ("A3.1.2" -> "a3.1.2"). Anything
// else is left to the default, so that the key stays a fixed point.
func pciRef(s string) string {
	s = pciPrefix.ReplaceAllString(s, "")
	if k := dottedRef(s); k != "" {
		return k
	}
	if pciAppendix.MatchString(s) {
		return s
	}
	return ""
}

// trimZeros drops leading zeros from a number, keeping one digit.
func trimZeros(n string) string {
	t := strings.TrimLeft(n, "0")
	if t == "" && n != "" {
		return "0"
	}
	return t
}
