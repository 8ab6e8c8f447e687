// Command bridge is an xAPI Learning Record Store that also syncs Moodle's
// logs into xAPI and forwards statements to other LRSs.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "bridge:", err)
		os.Exit(1)
	}
}
