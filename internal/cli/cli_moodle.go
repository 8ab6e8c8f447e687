package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/internal/app"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

// withMoodle opens the bridge database and the selected sources' syncers.
func withMoodle(ctx context.Context, cfg *config.Config, only string, fn func(*store.DB, []*moodle.Syncer) error) error {
	if len(cfg.Moodle.Sources) == 0 {
		return fmt.Errorf("no Moodle sources: add moodle.sources to the config (see README.md)")
	}
	db, err := app.OpenDB(ctx, cfg, cfg.Database.AutoMigrateEnabled())
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := app.CheckSchema(ctx, cfg, db, log); err != nil {
		return err
	}
	fwd, err := app.NewForwarding(ctx, cfg, db, log, nil, 0)
	if err != nil {
		return err
	}
	baseURL := cfg.BaseURL
	svc := &lrs.Service{Statements: db, Router: fwd.Router}
	persons := app.NewAdmin(db, baseURL, nil)
	var syncers []*moodle.Syncer
	for _, sc := range cfg.Moodle.Sources {
		if only != "" && sc.Name != only {
			continue
		}
		s, err := app.OpenMoodle(ctx, sc, db, svc, persons, baseURL, log)
		if err != nil {
			return err
		}
		defer s.Source.DB.Close()
		syncers = append(syncers, s)
	}
	if len(syncers) == 0 {
		return fmt.Errorf("--source: no Moodle source named %q", only)
	}
	return fn(db, syncers)
}

func moodleCmd(load func() (*config.Config, error), out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "moodle", Short: "Sync Moodle's logs into xAPI"}
	syncCmd := &cobra.Command{
		Use:   "sync --once [--source NAME]",
		Short: "Sync everything pending and exit (for cron jobs and backfills)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if once, _ := cmd.Flags().GetBool("once"); !once {
				return fmt.Errorf("use --once (bridge serve runs sources on their schedules)")
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			only, _ := cmd.Flags().GetString("source")
			// Ctrl-C or SIGTERM stops after the batch being stored: the
			// cursor and statements commit together, so a later run resumes.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return withMoodle(ctx, cfg, only, func(_ *store.DB, syncers []*moodle.Syncer) error {
				tty := isatty.IsTerminal(os.Stderr.Fd())
				for _, s := range syncers {
					var bar *progressbar.ProgressBar
					progress := func(done, total int64) {
						if !tty {
							return
						}
						if bar == nil {
							bar = progressbar.NewOptions64(total, progressbar.OptionSetDescription(s.Source.Name),
								progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
								progressbar.OptionSetItsString("rows"), progressbar.OptionSetPredictTime(true),
								progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionFullWidth())
						}
						bar.Set64(done)
					}
					start := time.Now()
					st, err := s.Run(ctx, progress)
					if bar != nil {
						bar.Finish()
						fmt.Fprintln(os.Stderr)
					}
					if err != nil {
						return fmt.Errorf("source %s: %w", s.Source.Name, err)
					}
					el := time.Since(start)
					fmt.Fprintf(out, "%s: cursor %d, %d behind, %d rows read, %d statements stored in total (this run: %s)\n",
						s.Source.Name, st.Cursor, st.Behind(), st.RowsRead, st.Statements, el.Round(time.Millisecond))
					if ctx.Err() != nil {
						fmt.Fprintln(out, "stopped; run again to resume from the cursor")
						return nil
					}
				}
				return nil
			})
		},
	}
	syncCmd.Flags().Bool("once", false, "sync everything pending, then exit")
	syncCmd.Flags().String("source", "", "only this source")
	status := &cobra.Command{
		Use:   "status",
		Short: "Each source's cursor, how far behind Moodle it is, the last run and what was skipped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			only, _ := cmd.Flags().GetString("source")
			return withMoodle(cmd.Context(), cfg, only, func(_ *store.DB, syncers []*moodle.Syncer) error {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				for _, s := range syncers {
					st, err := s.Status(cmd.Context())
					if err != nil {
						return err
					}
					latest, _ := moodleLatest(cmd.Context(), s)
					if latest > st.Latest {
						st.Latest = latest
					}
					fmt.Fprintf(tw, "source\t%s (%s)\n", s.Source.Name, s.Source.Options.WWWRoot)
					fmt.Fprintf(tw, "  cursor\t%d of %d (%d behind)\n", st.Cursor, st.Latest, st.Behind())
					fmt.Fprintf(tw, "  rows read\t%d\n  statements\t%d\n", st.RowsRead, st.Statements)
					if !st.LastRunEnd.IsZero() {
						fmt.Fprintf(tw, "  last run\t%s (took %s)\n", st.LastRunEnd.Format(time.RFC3339), st.LastRunEnd.Sub(st.LastRunStart).Round(time.Millisecond))
					} else {
						fmt.Fprintf(tw, "  last run\tnever\n")
					}
					if st.LastError != "" {
						fmt.Fprintf(tw, "  last error\t%s\n", st.LastError)
					}
					reasons := make([]string, 0, len(st.Skipped))
					for r := range st.Skipped {
						reasons = append(reasons, r)
					}
					sort.Strings(reasons)
					for _, r := range reasons {
						fmt.Fprintf(tw, "  skipped\t%d\t%s\n", st.Skipped[r], r)
					}
				}
				return tw.Flush()
			})
		},
	}
	status.Flags().String("source", "", "only this source")
	cmd.AddCommand(syncCmd, status)
	return cmd
}

// moodleLatest reads the highest log id now in Moodle.
func moodleLatest(ctx context.Context, s *moodle.Syncer) (int64, error) {
	var n *int64
	err := s.Source.DB.QueryRowContext(ctx, "SELECT MAX(id) FROM "+s.Source.Prefix+"logstore_standard_log").Scan(&n)
	if n == nil {
		return 0, err
	}
	return *n, err
}
