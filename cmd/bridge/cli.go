package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/xapibridge/bridge/config"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func bridgeVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var configPath string
	load := func() (*config.Config, error) {
		if configPath == "" {
			configPath = os.Getenv("BRIDGE_CONFIG")
		}
		return config.Load(configPath, os.Environ())
	}
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run the LRS (the default command)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serveMain(ctx, cfg, stdout)
		},
	}
	root := &cobra.Command{
		Use:           "bridge",
		Short:         "An xAPI Learning Record Store and Moodle-to-xAPI bridge",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          serve.RunE,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&configPath, "config", "c", "", "YAML config file (default: $BRIDGE_CONFIG, or built-in defaults)")

	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return migrateMain(cmd.Context(), cfg, stdout)
		},
	}
	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(stdout, "bridge", bridgeVersion())
		},
	}
	root.AddCommand(serve, migrate, versionCmd, rulesCmd(load, stdout), forwardCmd(load, stdout), personalCmd(load, stdout), moodleCmd(load, stdout))
	root.AddCommand(dataCmds(load, stdout, tenantCmds(load, stdout))...)
	root.SetContext(context.Background())
	return root
}
