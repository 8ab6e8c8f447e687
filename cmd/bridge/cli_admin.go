package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/xapibridge/bridge/config"
)

// tenantCmds are `bridge org`, `bridge store`, `bridge credential` and
// `bridge person`.
func tenantCmds(load func() (*config.Config, error), out io.Writer) []*cobra.Command { return nil }
