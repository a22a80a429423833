// Package testenv holds what every test process sets before it runs.
package testenv

import "os"

// NoCloudMetadata keeps a test process and the tools it starts off the
// cloud providers' metadata addresses: the AWS SDK's credential chain asks
// 169.254.169.254 for an instance role when nothing else answers, and
// Google's libraries ask metadata.google.internal. Tests never leave
// loopback, so both are pointed nowhere: AWS's lookup is off, and Google's
// goes to a closed loopback port.
func NoCloudMetadata() {
	for k, v := range Env() {
		_ = os.Setenv(k, v)
	}
}

// Env is NoCloudMetadata's settings, for the environment of a process a
// test starts.
func Env() map[string]string {
	return map[string]string{
		"AWS_EC2_METADATA_DISABLED": "true",
		"GCE_METADATA_HOST":         "127.0.0.1:9",
	}
}
