// Command genprowler writes realistic Prowler json-ocsf reports of any size
// for benchmarks: a JSON array of Detection Findings shaped like Prowler 5's
// (the structure of internal/ingest/testdata/samples/prowler), 4-8 KB each,
// spread over a few hundred checks, a dozen services, several accounts and
// regions, with FAIL, PASS and MANUAL results.
//
//	go run ./bench/genprowler -n 100000 -o /tmp/prowler-100k.ocsf.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

var services = []string{"iam", "s3", "ec2", "rds", "cloudtrail", "kms", "lambda", "eks", "vpc", "guardduty", "securityhub", "cloudwatch", "elb", "sns", "sqs"}
var regions = []string{"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1", "sa-east-1"}
var frameworks = []string{"CIS-1.4", "CIS-1.5", "CIS-2.0", "CIS-3.0", "NIST-800-53-Revision-5", "ISO27001-2022", "SOC2", "PCI-4.0", "HIPAA", "GDPR", "FedRAMP-Moderate-Revision-4", "AWS-Foundational-Security-Best-Practices", "KISA-ISMS-P-2023", "ENS-RD2022"}

const words = "access account audit bucket configuration control data encryption enable ensure logging monitoring network policy public resource role security service storage traffic"

func sentence(r *rand.Rand, n int) string {
	w := strings.Fields(words)
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w[r.IntN(len(w))])
	}
	return b.String()
}

type check struct {
	id, service, title, risk, remediation string
	severity                              int
	compliance                            map[string][]string
}

func main() {
	n := flag.Int("n", 100000, "findings")
	out := flag.String("o", "prowler.ocsf.json", "output file")
	accounts := flag.Int("accounts", 5, "AWS accounts")
	seed := flag.Uint64("seed", 1, "random seed (the same seed writes the same file)")
	flag.Parse()
	r := rand.New(rand.NewPCG(*seed, 42)) //nolint:gosec // G404: reproducible test data, not secrets

	checks := make([]check, 320)
	for i := range checks {
		svc := services[i%len(services)]
		c := check{
			id: fmt.Sprintf("%s_%s_%d", svc, strings.ReplaceAll(sentence(r, 3), " ", "_"), i), service: svc,
			title: "Ensure " + sentence(r, 8), risk: sentence(r, 120+r.IntN(160)), remediation: sentence(r, 40+r.IntN(60)),
			severity: 1 + r.IntN(5), compliance: map[string][]string{},
		}
		for _, fw := range frameworks[:4+r.IntN(len(frameworks)-4)] {
			for j := 0; j < 1+r.IntN(4); j++ {
				c.compliance[fw] = append(c.compliance[fw], fmt.Sprintf("%d.%d.%d", 1+r.IntN(9), 1+r.IntN(20), r.IntN(10)))
			}
		}
		checks[i] = c
	}
	sevName := []string{"Unknown", "Informational", "Low", "Medium", "High", "Critical"}

	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, _ = w.WriteString("[")
	enc := json.NewEncoder(w)
	for i := 0; i < *n; i++ {
		c := checks[r.IntN(len(checks))]
		account := fmt.Sprintf("%012d", 111122223333+r.IntN(*accounts)*1111)
		region := regions[r.IntN(len(regions))]
		resource := fmt.Sprintf("arn:aws:%s:%s:%s:resource/%s-%06d", c.service, region, account, c.service, i)
		status := "FAIL"
		switch x := r.IntN(10); {
		case x < 5:
			status = "PASS"
		case x == 9:
			status = "MANUAL"
		}
		doc := map[string]any{
			"message": "Resource " + resource + " " + sentence(r, 10), "severity_id": c.severity, "severity": sevName[c.severity],
			"status": "New", "status_code": status, "status_detail": "Resource " + resource + ": " + sentence(r, 12), "status_id": 1,
			"metadata": map[string]any{"event_code": c.id, "product": map[string]any{"name": "Prowler", "uid": "prowler", "vendor_name": "Prowler", "version": "5.4.0"},
				"profiles": []string{"cloud", "datetime"}, "tenant_uid": "", "version": "1.4.0"},
			"unmapped": map[string]any{"related_url": "https://docs.aws.amazon.com/" + c.service, "categories": []string{}, "depends_on": []string{},
				"related_to": []string{}, "additional_urls": []string{}, "notes": "", "compliance": c.compliance},
			"activity_name": "Create", "activity_id": 1,
			"finding_info": map[string]any{"created_time": 1739539623, "created_time_dt": "2025-02-14T14:27:03.913874", "desc": c.title,
				"product_uid": "prowler", "title": c.title, "types": []string{c.service}, "uid": "prowler-aws-" + c.id + "-" + account + "-" + region + "-" + resource},
			"resources": []any{map[string]any{"cloud_partition": "aws", "region": region,
				"data":  map[string]any{"details": "", "metadata": map[string]any{"arn": resource, "name": fmt.Sprintf("%s-%06d", c.service, i), "tags": []string{}}},
				"group": map[string]any{"name": c.service}, "labels": []string{}, "name": fmt.Sprintf("%s-%06d", c.service, i), "type": "Aws" + strings.ToUpper(c.service[:1]) + c.service[1:], "uid": resource}},
			"category_name": "Findings", "category_uid": 2, "class_name": "Detection Finding", "class_uid": 2004,
			"cloud": map[string]any{"account": map[string]any{"name": "prod-" + account[8:], "type": "AWS Account", "type_id": 10, "uid": account, "labels": []string{}},
				"org": map[string]any{"name": "", "uid": ""}, "provider": "aws", "region": region},
			"remediation":  map[string]any{"desc": c.remediation, "references": []string{"aws " + c.service + " update --fix", "https://docs.aws.amazon.com/" + c.service}},
			"risk_details": c.risk, "time": 1739539623, "time_dt": "2025-02-14T14:27:03.913874", "type_uid": 200401, "type_name": "Detection Finding: Create",
		}
		if i > 0 {
			_, _ = w.WriteString(",\n")
		}
		if err := enc.Encode(doc); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	_, _ = w.WriteString("]\n")
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = f.Close()
}
