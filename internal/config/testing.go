package config

import "flag"

// Defaults returns the configuration with every setting at its default, for
// tests and tools that build an App without a command line.
func Defaults() *Config {
	cfg, err := Bind(flag.NewFlagSet("defaults", flag.ContinueOnError)).Load(func(string) string { return "" })
	if err != nil {
		panic(err) // the defaults are constants; a failure is a bug in the table
	}
	return cfg
}
