package ingest

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// xmlStream walks an XML document element by element. Go's decoder does not
// expand entities declared in a DTD: a "billion laughs" document fails at
// its first undefined entity instead of growing in memory.
type xmlStream struct {
	dec    *xml.Decoder
	format string
}

func newXMLStream(r io.Reader, format string) *xmlStream {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	// Reports are UTF-8 or ASCII; other declared charsets are read as UTF-8.
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	return &xmlStream{dec: dec, format: format}
}

func (s *xmlStream) fail(err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	line, col := s.dec.InputPos()
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &ParseError{Format: s.format, Where: fmt.Sprintf("line %d, column %d", line, col), Err: err}
}

// walk calls fn for each start element; fn may DecodeElement it.
func (s *xmlStream) walk(fn func(se xml.StartElement) error) error {
	sawRoot := false
	for {
		tok, err := s.dec.Token()
		if errors.Is(err, io.EOF) {
			if !sawRoot {
				return s.fail(errors.New("no XML element in the report"))
			}
			return nil
		}
		if err != nil {
			return s.fail(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			sawRoot = true
			if err := fn(se); err != nil {
				return s.fail(err)
			}
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func cvssSeverity(score float64) ocsf.Severity {
	switch {
	case score >= 9:
		return ocsf.SeverityCritical
	case score >= 7:
		return ocsf.SeverityHigh
	case score >= 4:
		return ocsf.SeverityMedium
	case score > 0:
		return ocsf.SeverityLow
	}
	return ocsf.SeverityInformational
}

type nmapHost struct {
	Addresses []struct {
		Addr string `xml:"addr,attr"`
		Type string `xml:"addrtype,attr"`
	} `xml:"address"`
	Hostnames []struct {
		Name string `xml:"name,attr"`
	} `xml:"hostnames>hostname"`
	Ports []struct {
		Protocol string `xml:"protocol,attr"`
		PortID   string `xml:"portid,attr"`
		State    struct {
			State string `xml:"state,attr"`
		} `xml:"state"`
		Service struct {
			Name    string `xml:"name,attr"`
			Product string `xml:"product,attr"`
			Version string `xml:"version,attr"`
		} `xml:"service"`
		Scripts []struct {
			ID     string      `xml:"id,attr"`
			Tables []nmapTable `xml:"table"`
		} `xml:"script"`
	} `xml:"ports>port"`
}

type nmapTable struct {
	Key    string      `xml:"key,attr"`
	Elems  []nmapElem  `xml:"elem"`
	Tables []nmapTable `xml:"table"`
}

type nmapElem struct {
	Key   string `xml:"key,attr"`
	Value string `xml:",chardata"`
}

// parseNmap reads Nmap's XML (-oX): one finding per open port, plus one per
// CVE the vulners script reports on it.
func parseNmap(r io.Reader, emit Emit) error {
	s := newXMLStream(r, "nmap")
	known := false
	err := s.walk(func(se xml.StartElement) error {
		if se.Name.Local == "nmaprun" {
			known = true
		}
		if se.Name.Local != "host" {
			return nil
		}
		var h nmapHost
		if err := s.dec.DecodeElement(&h, &se); err != nil {
			return err
		}
		addr := ""
		for _, a := range h.Addresses {
			if a.Type != "mac" {
				addr = a.Addr
				break
			}
		}
		name := addr
		if len(h.Hostnames) > 0 && h.Hostnames[0].Name != "" {
			name = h.Hostnames[0].Name
		}
		for _, p := range h.Ports {
			if p.State.State != "open" {
				continue
			}
			loc := p.PortID + "/" + p.Protocol
			svc := strings.TrimSpace(strings.Join([]string{p.Service.Name, p.Service.Product, p.Service.Version}, " "))
			f := &Finding{
				Tool: "nmap", ClassUID: ocsf.ClassDetectionFinding, CheckID: "open-port", Title: "Open port " + loc + serviceSuffix(svc),
				Description: "Port " + loc + " is open on " + name + serviceSuffix(svc), Severity: ocsf.SeverityInformational,
				Result: ResultFail, Target: addr, ResourceUID: addr, ResourceName: name, ResourceType: "host", Location: loc,
				Service: p.Service.Name, Component: p.Service.Product, Version: p.Service.Version,
				Remediation: "Close the port if the service need not be reachable, or restrict who can reach it.",
			}
			f.Fingerprint = fingerprint("nmap", "open-port", addr, loc)
			render(f, "Nmap")
			if err := emit(f); err != nil {
				return err
			}
			for _, sc := range p.Scripts {
				if sc.ID != "vulners" {
					continue
				}
				for _, cve := range vulnersCVEs(sc.Tables) {
					f := &Finding{
						Tool: "nmap", ClassUID: ocsf.ClassVulnerabilityFinding, CheckID: cve.id, Title: cve.id + " in " + firstNonEmpty(p.Service.Product, p.Service.Name) + " on " + loc,
						Description: "The vulners script matched " + cve.id + " (CVSS " + strconv.FormatFloat(cve.cvss, 'f', 1, 64) + ") to " + svc + " on " + name + ".",
						Severity:    cvssSeverity(cve.cvss), Result: ResultFail, Target: addr, ResourceUID: addr, ResourceName: name,
						ResourceType: "host", Location: loc, Service: p.Service.Name, Component: p.Service.Product, Version: p.Service.Version,
						VulnIDs: []string{cve.id},
					}
					f.Fingerprint = fingerprint("nmap", cve.id, addr, loc, p.Service.Product, p.Service.Version)
					render(f, "Nmap")
					if err := emit(f); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err == nil && !known {
		return notThe("nmap", "no <nmaprun> element: not an Nmap XML report")
	}
	return err
}

// notThe is the refusal of a document that parsed but has none of a
// format's shape.
func notThe(format, why string) error {
	return &ParseError{Format: format, Where: "offset 0", Err: errors.New(why)}
}

func serviceSuffix(svc string) string {
	if svc == "" {
		return ""
	}
	return " (" + svc + ")"
}

type vulnersEntry struct {
	id   string
	cvss float64
}

// vulnersCVEs collects the CVE entries of the vulners script's tables,
// once each (exploit and other advisory IDs are not counted).
func vulnersCVEs(tables []nmapTable) []vulnersEntry {
	var out []vulnersEntry
	seen := map[string]bool{}
	var walk func([]nmapTable)
	walk = func(ts []nmapTable) {
		for _, t := range ts {
			var e vulnersEntry
			typ := ""
			for _, el := range t.Elems {
				switch el.Key {
				case "id":
					e.id = strings.TrimSpace(el.Value)
				case "cvss":
					e.cvss, _ = strconv.ParseFloat(strings.TrimSpace(el.Value), 64)
				case "type":
					typ = el.Value
				}
			}
			if e.id != "" && (typ == "cve" || strings.HasPrefix(e.id, "CVE-")) && !seen[e.id] {
				seen[e.id] = true
				out = append(out, e)
			}
			walk(t.Tables)
		}
	}
	walk(tables)
	return out
}

type zapAlert struct {
	PluginID  string `xml:"pluginid" json:"pluginid"`
	AlertRef  string `xml:"alertRef" json:"alertRef"`
	Alert     string `xml:"alert" json:"alert"`
	Name      string `xml:"name" json:"name"`
	RiskCode  string `xml:"riskcode" json:"riskcode"`
	Desc      string `xml:"desc" json:"desc"`
	Solution  string `xml:"solution" json:"solution"`
	Reference string `xml:"reference" json:"reference"`
	CWEID     string `xml:"cweid" json:"cweid"`
	Count     string `xml:"count" json:"count"`
	Instances []struct {
		URI    string `xml:"uri" json:"uri"`
		Method string `xml:"method" json:"method"`
		Param  string `xml:"param" json:"param"`
	} `xml:"instances>instance" json:"instances"`
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)

// plain turns the HTML fragments ZAP writes into text.
func plain(s string) string {
	return strings.TrimSpace(html.UnescapeString(htmlTag.ReplaceAllString(s, " ")))
}

func zapFinding(site string, a *zapAlert) *Finding {
	risk, _ := strconv.Atoi(strings.TrimSpace(a.RiskCode))
	sev := []ocsf.Severity{ocsf.SeverityInformational, ocsf.SeverityLow, ocsf.SeverityMedium, ocsf.SeverityHigh}[min(max(risk, 0), 3)]
	ref := firstNonEmpty(a.AlertRef, a.PluginID)
	f := &Finding{
		Tool: "zap", ClassUID: ocsf.ClassDetectionFinding, CheckID: ref, Title: firstNonEmpty(a.Name, a.Alert),
		Description: plain(a.Desc), Severity: sev, Result: ResultFail, Target: site, ResourceUID: site, ResourceType: "web application",
		Remediation: plain(a.Solution),
	}
	if len(a.Instances) > 0 {
		f.Location = a.Instances[0].Method + " " + a.Instances[0].URI
		if len(a.Instances) > 1 {
			f.Location += fmt.Sprintf(" and %d more", len(a.Instances)-1)
		}
	}
	if a.CWEID != "" && a.CWEID != "-1" && a.CWEID != "0" {
		f.Description += " (CWE-" + a.CWEID + ")"
	}
	// One alert per plugin and site: instances come and go between runs.
	f.Fingerprint = fingerprint("zap", ref, f.Title, site)
	render(f, "OWASP ZAP")
	return f
}

// parseZAP reads OWASP ZAP's XML or traditional JSON report: one finding per
// alert item of each site.
func parseZAP(r io.Reader, emit Emit) error {
	br := asBuffered(r)
	first, err := firstNonSpace(br)
	if err != nil {
		return &ParseError{Format: "zap", Where: "offset 0", Err: err}
	}
	if first != '<' {
		return parseZAPJSON(br, emit)
	}
	s := newXMLStream(br, "zap")
	site, known := "", false
	err = s.walk(func(se xml.StartElement) error {
		switch se.Name.Local {
		case "OWASPZAPReport":
			known = true
		case "site":
			site = attr(se, "name")
		case "alertitem":
			var a zapAlert
			if err := s.dec.DecodeElement(&a, &se); err != nil {
				return err
			}
			return emit(zapFinding(site, &a))
		}
		return nil
	})
	if err == nil && !known {
		return notThe("zap", "no <OWASPZAPReport> element: not a ZAP XML report")
	}
	return err
}

func parseZAPJSON(r io.Reader, emit Emit) error {
	s := newJSONStream(r, "zap")
	known := false
	err := s.eachKey(func(key string) error {
		if key == "@programName" || key == "@version" {
			known = true
		}
		if key != "site" {
			return s.skip()
		}
		known = true
		return s.eachElement(func(raw json.RawMessage) error {
			var site struct {
				Name   string     `json:"@name"`
				Alerts []zapAlert `json:"alerts"`
			}
			if err := unmarshal(raw, &site); err != nil {
				return err
			}
			for i := range site.Alerts {
				if err := emit(zapFinding(site.Name, &site.Alerts[i])); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if !known {
		return s.fail(errors.New("no site or @programName: not a ZAP JSON report"))
	}
	return s.end()
}

type wapitiEntry struct {
	Method    string `xml:"method" json:"method"`
	Path      string `xml:"path" json:"path"`
	Level     int    `xml:"level" json:"level"`
	Parameter string `xml:"parameter" json:"parameter"`
	Info      string `xml:"info" json:"info"`
}

// wapitiSeverity maps a Wapiti level: 4 critical ... 1 low, 0 informational
// since Wapiti 3.0.4; 1 high, 2 medium, 3 low in the reports of 3.0.3 and
// older, whose scale ran the other way (oldScale).
func wapitiSeverity(level int, oldScale bool) ocsf.Severity {
	if oldScale {
		switch level {
		case 1:
			return ocsf.SeverityHigh
		case 2:
			return ocsf.SeverityMedium
		case 3:
			return ocsf.SeverityLow
		}
		return ocsf.SeverityInformational
	}
	switch level {
	case 4:
		return ocsf.SeverityCritical
	case 3:
		return ocsf.SeverityHigh
	case 2:
		return ocsf.SeverityMedium
	case 1:
		return ocsf.SeverityLow
	}
	return ocsf.SeverityInformational
}

// wapitiOldScale tells from a report's version ("Wapiti 3.0.3") whether it
// uses the scale of 3.0.3 and older. An unknown version is taken as new.
func wapitiOldScale(version string) bool {
	v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(version), "Wapiti"))
	var parts [3]int
	for i, p := range strings.SplitN(v, ".", 3) {
		n, err := strconv.Atoi(strings.TrimFunc(p, func(r rune) bool { return r < '0' || r > '9' }))
		if err != nil {
			return false
		}
		parts[i] = n
	}
	if parts == [3]int{} {
		return false
	}
	return parts[0] < 3 || parts[0] == 3 && parts[1] == 0 && parts[2] <= 3
}

func wapitiFinding(target, name, desc, solution string, e *wapitiEntry, oldScale bool) *Finding {
	if name == "" {
		name = "wapiti"
	}
	f := &Finding{
		Tool: "wapiti", ClassUID: ocsf.ClassDetectionFinding, CheckID: name, Title: name + " at " + e.Path,
		Description: firstNonEmpty(e.Info, desc), Severity: wapitiSeverity(e.Level, oldScale), Result: ResultFail,
		Target: target, ResourceUID: target, ResourceType: "web application", Location: strings.TrimSpace(e.Method + " " + e.Path),
		Remediation: strings.TrimSpace(solution),
	}
	if e.Parameter != "" {
		f.Location += " [" + e.Parameter + "]"
	}
	// info names the flaw ("CSP is not set"); several flaws can share a path.
	f.Fingerprint = fingerprint("wapiti", name, target, e.Method, e.Path, e.Parameter, e.Info)
	render(f, "Wapiti")
	return f
}

// parseWapiti reads Wapiti's XML or JSON report: one finding per entry of
// each vulnerability (anomalies and additional information are not findings).
func parseWapiti(r io.Reader, emit Emit) error {
	br := asBuffered(r)
	first, err := firstNonSpace(br)
	if err != nil {
		return &ParseError{Format: "wapiti", Where: "offset 0", Err: err}
	}
	if first != '<' {
		return parseWapitiJSON(br, emit)
	}
	s := newXMLStream(br, "wapiti")
	target := ""
	inVulns, oldScale, known := false, false, false
	err = s.walk(func(se xml.StartElement) error {
		switch se.Name.Local {
		case "report":
			known = true
		case "info":
			switch attr(se, "name") {
			case "target", "generatorVersion":
				var v string
				if err := s.dec.DecodeElement(&v, &se); err != nil {
					return err
				}
				if attr(se, "name") == "target" {
					target = strings.TrimSpace(v)
				} else {
					oldScale = wapitiOldScale(v)
				}
			}
		case "vulnerabilities":
			inVulns = true
		case "anomalies", "additionals":
			inVulns = false
		case "vulnerability":
			if !inVulns {
				return nil
			}
			var v struct {
				Description string        `xml:"description"`
				Solution    string        `xml:"solution"`
				Entries     []wapitiEntry `xml:"entries>entry"`
			}
			if err := s.dec.DecodeElement(&v, &se); err != nil {
				return err
			}
			for i := range v.Entries {
				if err := emit(wapitiFinding(target, attr(se, "name"), v.Description, v.Solution, &v.Entries[i], oldScale)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil && !known {
		return &ParseError{Format: "wapiti", Where: "offset 0", Err: errors.New("no <report> element: not a Wapiti report")}
	}
	return err
}

func parseWapitiJSON(r io.Reader, emit Emit) error {
	s := newJSONStream(r, "wapiti")
	type pending struct {
		name string
		e    wapitiEntry
	}
	var (
		target, version string
		infos, vulns    bool // both keys were seen
		held            []pending
	)
	err := s.eachKey(func(key string) error {
		switch key {
		case "infos":
			var in struct {
				Target  string `json:"target"`
				Version string `json:"version"`
			}
			if err := s.decode(&in); err != nil {
				return err
			}
			target, version, infos = in.Target, in.Version, true
			return nil
		case "vulnerabilities":
			vulns = true
			return s.eachKey(func(name string) error {
				return s.eachElement(func(raw json.RawMessage) error {
					var e wapitiEntry
					if err := unmarshal(raw, &e); err != nil {
						return err
					}
					if !infos { // the scale and the target come with infos
						held = append(held, pending{name, e})
						return nil
					}
					return emit(wapitiFinding(target, name, "", "", &e, wapitiOldScale(version)))
				})
			})
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	if !vulns && !infos {
		return s.fail(errors.New("no vulnerabilities or infos: not a Wapiti report"))
	}
	for i := range held {
		if err := emit(wapitiFinding(target, held[i].name, "", "", &held[i].e, wapitiOldScale(version))); err != nil {
			return err
		}
	}
	return s.end()
}
