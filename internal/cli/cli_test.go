package cli

import (
	"runtime/debug"
	"testing"
)

// `bridge version` says which build it is: the release version set at
// build time, the module version from the build info, or the commit
// (issue 14: it printed "dev" for every build).
func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, c := range []struct {
		name    string
		version string
		bi      *debug.BuildInfo
		want    string
	}{
		{"release build", "v1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-2026"}}, "v1.2.3"},
		{"go install of a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"go build in a clone", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261204184313-c1f10fb308c0+dirty"}}, "v0.0.0-20261204184313-c1f10fb308c0+dirty"},
		{"devel with a commit", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("c1f10fb308c095cab8f04fa4f3f96fae31bf6cda", "false")}, "dev-c1f10fb308c0"},
		{"devel, modified tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("c1f10fb308c095cab8f04fa4f3f96fae31bf6cda", "true")}, "dev-c1f10fb308c0-modified"},
		{"go run, no build info", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no build info at all", "", nil, "dev"},
	} {
		if got := versionOf(c.version, c.bi); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
