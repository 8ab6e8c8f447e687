// Package cli is the bridge's command line: `bridge serve` and every
// other command, as cobra commands. cmd/bridge runs it; tests run it too.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/internal/app"
)

// Execute runs the bridge command line with args (without the program
// name), writing to stdout and stderr. version is the release version set
// at build time, or empty.
func Execute(ctx context.Context, version string, args []string, stdout, stderr io.Writer) error {
	root := newRootCmd(stdout, stderr, bridgeVersion(version))
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// bridgeVersion is the release version, else what the build info says
// (the module version `go install` and `go build` in a clone stamp, or the
// commit), else "dev".
func bridgeVersion(version string) string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(version, bi)
}

func versionOf(version string, bi *debug.BuildInfo) string {
	if version != "" {
		return version
	}
	if bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		return "dev-" + rev + "-modified"
	}
	return "dev-" + rev
}

func newRootCmd(stdout, stderr io.Writer, version string) *cobra.Command {
	var configPath string
	// loadFor loads the config for a command that uses these sections
	// besides the basic ones (config.Sections): an unset ${VAR} in another
	// section is no error for it. load is for serve, which uses them all.
	loadWith := func(opts ...config.LoadOption) (*config.Config, error) {
		if configPath == "" {
			configPath = os.Getenv("BRIDGE_CONFIG")
		}
		return config.Load(configPath, os.Environ(), opts...)
	}
	loadFor := func(sections ...string) func() (*config.Config, error) {
		return func() (*config.Config, error) { return loadWith(config.Sections(sections...)) }
	}
	load := func() (*config.Config, error) { return loadWith() }
	forwarding := loadFor("forwarding", "targets", "rules")
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
			return serve(ctx, cfg, version, stdout, stderr)
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
			cfg, err := loadFor()()
			if err != nil {
				return err
			}
			return app.Migrate(cmd.Context(), cfg, stdout)
		},
	}
	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(stdout, "bridge %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
	root.AddCommand(serve, migrate, versionCmd, rulesCmd(forwarding, stdout), forwardCmd(forwarding, stdout), personalCmd(forwarding, stdout),
		moodleCmd(loadFor("moodle", "forwarding", "targets", "rules"), stdout))
	root.AddCommand(dataCmds(loadFor(), stdout, tenantCmds(loadFor(), stdout))...)
	return root
}

// serve is `bridge serve`: the app until ctx ends (SIGINT, SIGTERM).
func serve(ctx context.Context, cfg *config.Config, version string, stdout, stderr io.Writer) error {
	a, err := app.New(ctx, cfg, app.Options{Stdout: stdout, Stderr: stderr, Version: version})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx)
}
