// Package version reports what build of cspm is running.
package version

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Version and Commit are set at link time by the Makefile
// (-ldflags "-X github.com/offloadsecurity/cspm/internal/version.Version=...").
// When they are not, the module and VCS information that `go build` embeds is used.
var (
	Version = ""
	Commit  = ""
)

// Info describes the running build.
type Info struct {
	Version   string `json:"version" doc:"Release version, or the module version for development builds."`
	Commit    string `json:"commit" doc:"VCS revision the binary was built from, if known."`
	GoVersion string `json:"go_version" doc:"Go toolchain that built the binary."`
}

var (
	once sync.Once
	info Info
)

// Get returns the build information, computed once.
func Get() Info {
	once.Do(func() {
		info = Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
		bi, ok := debug.ReadBuildInfo()
		if ok {
			if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				info.Version = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && info.Commit == "" {
					info.Commit = s.Value
				}
			}
		}
		if info.Version == "" {
			info.Version = "dev"
		}
	})
	return info
}
