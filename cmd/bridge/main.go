// Command bridge is the xAPI bridge: an LRS, Moodle adapters and
// forwarding, in one binary. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/xapibridge/bridge/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	tuneGC()
	if err := cli.Execute(context.Background(), version, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bridge:", err)
		os.Exit(1)
	}
}

// Unless GOGC or GOMEMLIMIT say otherwise, the bridge collects garbage half
// as often as Go's default while its heap is small (GOGC=200) and harder
// as the memory Go manages nears a soft limit of 128 MiB. Decoding
// statements allocates a lot of short-lived maps, and collections were a
// fifth of the bridge's CPU at Go's default; the limit keeps the process
// well under 200 MB in every benchmark. Set GOMEMLIMIT higher on a big
// server, or GOGC=100 for Go's default.
const (
	defaultGCPercent   = 200
	defaultMemoryLimit = 128 << 20
)

func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
