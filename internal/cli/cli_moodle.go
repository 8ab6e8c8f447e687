package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
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

// progressTo is where `sync --once` draws its progress bar: stderr when it
// is a terminal, else nowhere.
var progressTo = func() io.Writer {
	if isatty.IsTerminal(os.Stderr.Fd()) {
		return os.Stderr
	}
	return nil
}

// newProgress draws a source's sync as a progress bar on w: log ids done of
// the ids to do, the rate and the time left. The bar starts at the first
// sample, which a run takes before it reads anything (done 0), so the rate
// counts from the start of the run, not from its first batch.
func newProgress(w io.Writer, name string) (moodle.Progress, func()) {
	var bar *progressbar.ProgressBar
	progress := func(done, total int64) {
		if bar == nil {
			if total <= 0 {
				return
			}
			bar = progressbar.NewOptions64(total, progressbar.OptionSetDescription(name),
				progressbar.OptionSetWriter(w), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("rows"), progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionFullWidth())
		}
		if total > bar.GetMax64() {
			bar.ChangeMax64(total) // rows logged since the bar started
		}
		bar.Set64(min(done, bar.GetMax64()))
	}
	finish := func() {
		if bar != nil {
			bar.Finish()
			fmt.Fprintln(w)
		}
	}
	return progress, finish
}

// behindText is "0 behind", "12 behind, the oldest 3m0s old" or "at least
// 10000 behind, ...".
func behindText(st *moodle.Status, now time.Time) string {
	s := fmt.Sprintf("%d behind", st.Behind())
	p := st.Pending
	if p == nil {
		return s
	}
	if p.AtLeast {
		s = "at least " + s
	}
	if p.Oldest != nil {
		s += fmt.Sprintf(", the oldest %s old", moodle.Ago(p.Age(now)))
	}
	return s
}

// oneSource picks the source a command acts on: --source, or the only one.
func oneSource(cfg *config.Config, only string) (string, error) {
	if len(cfg.Moodle.Sources) == 0 {
		return only, nil // withMoodle says there is none
	}
	if only != "" || len(cfg.Moodle.Sources) != 1 {
		if only == "" {
			var names []string
			for _, s := range cfg.Moodle.Sources {
				names = append(names, s.Name)
			}
			return "", fmt.Errorf("--source: name the source (%s)", strings.Join(names, ", "))
		}
		return only, nil
	}
	return cfg.Moodle.Sources[0].Name, nil
}

func moodleCmd(load func() (*config.Config, error), out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "moodle", Short: "Sync Moodle's logs into xAPI"}
	syncCmd := &cobra.Command{
		Use:   "sync --once [--source NAME] [--no-wait]",
		Short: "Sync everything pending and exit (for cron jobs and backfills)",
		Long: `Sync everything pending and exit (for cron jobs and backfills).

Log rows after a gap in log ids are held back until they are gap_wait old
(default 1m): Moodle requests take log ids in one order and may commit in
another, so the missing rows may still be committing. --once waits for such
gaps to settle (gap_wait at most) and says so, or says it stopped short;
--no-wait does not wait.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if once, _ := cmd.Flags().GetBool("once"); !once {
				return fmt.Errorf("use --once (bridge serve runs sources on their schedules)")
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			only, _ := cmd.Flags().GetString("source")
			noWait, _ := cmd.Flags().GetBool("no-wait")
			// Ctrl-C or SIGTERM stops after the batch being stored: the
			// cursor and statements commit together, so a later run resumes.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return withMoodle(ctx, cfg, only, func(_ *store.DB, syncers []*moodle.Syncer) error {
				w := progressTo()
				for _, s := range syncers {
					var progress moodle.Progress
					finish := func() {}
					if w != nil {
						progress, finish = newProgress(w, s.Source.Name)
					}
					start := time.Now()
					o, err := s.RunOnce(ctx, progress, !noWait)
					finish()
					if err != nil {
						return fmt.Errorf("source %s: %w", s.Source.Name, err)
					}
					printOnce(out, s.Source.Name, o, time.Since(start))
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
	syncCmd.Flags().Bool("no-wait", false, "do not wait for recent gaps in log ids to settle")
	status := &cobra.Command{
		Use:   "status",
		Short: "Each source's cursor, how far behind Moodle it is (rows and time), why it waits, the last run and what was skipped",
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
					if err := printStatus(cmd.Context(), tw, s); err != nil {
						return err
					}
				}
				return tw.Flush()
			})
		},
	}
	status.Flags().String("source", "", "only this source")
	cmd.AddCommand(syncCmd, status, rewindCmd(load, out), previewCmd(load, out))
	return cmd
}

// printOnce is the summary of a `sync --once` of one source.
func printOnce(out io.Writer, name string, o *moodle.Once, took time.Duration) {
	now := time.Now()
	st := o.Status
	fmt.Fprintf(out, "%s: this run: %s in %s\n", name, o.Run, took.Round(time.Millisecond))
	fmt.Fprintf(out, "%s: cursor %d of %d (%s); %d rows read, %d statements stored in total\n",
		name, st.Cursor, max(st.Latest, st.Cursor), behindText(st, now), st.RowsRead, st.Statements)
	if r := o.Run; r.Conflicts > 0 {
		fmt.Fprintf(out, "%s: %s: statement ids taken by statements of another authority or with other content (see bridge moodle status)\n",
			name, moodlePlural(int(r.Conflicts), "conflict"))
		for _, c := range r.RecentConflicts {
			fmt.Fprintf(out, "%s:   %s\n", name, c)
		}
	}
	if o.Waited > 0 {
		fmt.Fprintf(out, "%s: waited %s for gaps in log ids to settle (rows committed out of order)\n", name, o.Waited.Round(100*time.Millisecond))
	}
	if st.Waiting != nil {
		if o.Short {
			fmt.Fprintf(out, "%s: stopped short: %s; run again to go on\n", name, st.Waiting.String(now))
		} else {
			fmt.Fprintf(out, "%s: %s (logged after this run started)\n", name, st.Waiting.String(now))
		}
	}
}

// printStatus writes a source's status, with what is pending and the gap
// its cursor waits at as Moodle's log says now.
func printStatus(ctx context.Context, tw io.Writer, s *moodle.Syncer) error {
	st, err := s.Status(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	latest, _ := moodleLatest(ctx, s)
	if latest > st.Latest {
		st.Latest = latest
	}
	p, gap, checkErr := s.Check(ctx, st.Cursor)
	if checkErr == nil {
		st.Checked(p, gap)
	}
	fmt.Fprintf(tw, "source\t%s (%s)\n", s.Source.Name, s.Source.Options.WWWRoot)
	fmt.Fprintf(tw, "  cursor\t%d of %d (%d behind)\n", st.Cursor, st.Latest, st.Behind())
	switch {
	case checkErr != nil:
		fmt.Fprintf(tw, "  behind\tunknown: %v\n", checkErr)
	default:
		fmt.Fprintf(tw, "  behind\t%s\n", st.Pending.String(now))
	}
	if st.Waiting != nil {
		fmt.Fprintf(tw, "  gap\t%s\n", st.Waiting.String(now))
	}
	fmt.Fprintf(tw, "  gap wait\t%s\n", s.SettleTime())
	fmt.Fprintf(tw, "  rows read\t%d\n  statements\t%d\n", st.RowsRead, st.Statements)
	switch {
	case st.LegacyIDsThrough == nil:
		fmt.Fprintf(tw, "  ids\tnot keyed yet (the next run creates the source's key)\n")
	case *st.LegacyIDsThrough > 0:
		fmt.Fprintf(tw, "  ids\tkeyed with the source's key after log id %d (rows through it keep the public ids they were stored under)\n", *st.LegacyIDsThrough)
	default:
		fmt.Fprintf(tw, "  ids\tkeyed with the source's key\n")
	}
	fmt.Fprintf(tw, "  conflicts\t%d", st.Conflicts)
	if st.Conflicts > 0 {
		fmt.Fprintf(tw, " (statement ids taken by a statement of another authority or with other content)")
	}
	fmt.Fprintln(tw)
	for _, c := range st.RecentConflicts {
		fmt.Fprintf(tw, "  conflict\tlog id %d #%d\t%s\t%s\t%s\n", c.LogID, c.Index, c.ID, c.Reason, c.Found.Format(time.RFC3339))
	}
	if !st.LastRunEnd.IsZero() {
		fmt.Fprintf(tw, "  last run\t%s (took %s)", st.LastRunEnd.Format(time.RFC3339), st.LastRunEnd.Sub(st.LastRunStart).Round(time.Millisecond))
		if st.LastRun != nil {
			fmt.Fprintf(tw, ": %s", st.LastRun)
		}
		fmt.Fprintln(tw)
	} else {
		fmt.Fprintf(tw, "  last run\tnever\n")
	}
	if st.LastError != "" {
		fmt.Fprintf(tw, "  last error\t%s\n", st.LastError)
	}
	if rw := st.LastRewind; rw != nil {
		fmt.Fprintf(tw, "  last rewind\t%s: from %d to %d", rw.At.Format(time.RFC3339), rw.From, rw.To)
		if rw.Since != nil {
			fmt.Fprintf(tw, " (rows since %s)", rw.Since.Format(time.RFC3339))
		}
		if rw.By != "" {
			fmt.Fprintf(tw, " by %s", rw.By)
		}
		fmt.Fprintln(tw)
	}
	// By fixed reason, then in detail (event names included), then the
	// events no mapper knows, the most frequent first.
	if by := st.SkippedByReason(); len(by) > 0 {
		var parts []string
		var n int64
		for _, r := range moodle.SkipReasons {
			if by[r] != 0 {
				parts = append(parts, fmt.Sprintf("%s %d", r, by[r]))
				n += by[r]
			}
		}
		fmt.Fprintf(tw, "  skipped\t%d in all: %s\n", n, strings.Join(parts, ", "))
	}
	reasons := make([]string, 0, len(st.Skipped))
	for r := range st.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(tw, "  skipped\t%d\t%s\n", st.Skipped[r], r)
	}
	for _, e := range st.UnmappedEvents(10) {
		fmt.Fprintf(tw, "  unmapped\t%d\t%s\n", e.Rows, e.Event)
	}
	return nil
}

func rewindCmd(load func() (*config.Config, error), out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rewind --source NAME (--to LOGID | --since TIME)",
		Short: "Set a source's cursor back, so that its log rows are read again",
		Long: `Set a source's cursor back, so that the next sync reads its log rows again:
--to LOGID reads the rows after LOGID (0: everything), --since TIME the rows
created from TIME on (a date, 2025-01-01, is midnight UTC; or RFC 3339,
2025-01-01T08:00:00+01:00). Statement ids are derived from the log rows (and
the source's key), so statements already stored are recognised and not stored
twice. A sync running
meanwhile (bridge serve) goes on from the new cursor after the batch it is
storing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			only, _ := cmd.Flags().GetString("source")
			name, err := oneSource(cfg, only)
			if err != nil {
				return err
			}
			req := moodle.RewindRequest{By: "cli"}
			to, since := cmd.Flags().Lookup("to"), cmd.Flags().Lookup("since")
			if to.Changed == since.Changed {
				return fmt.Errorf("give --to LOGID or --since TIME")
			}
			if to.Changed {
				n, _ := cmd.Flags().GetInt64("to")
				req.To = &n
			} else {
				t, err := moodle.ParseSince(since.Value.String())
				if err != nil {
					return fmt.Errorf("--%w", err)
				}
				req.Since = &t
			}
			return withMoodle(cmd.Context(), cfg, name, func(_ *store.DB, syncers []*moodle.Syncer) error {
				s := syncers[0]
				st, err := s.Rewind(cmd.Context(), req)
				if err != nil {
					return fmt.Errorf("source %s: %s", name, lrs.ErrorMessage(err))
				}
				rw := st.LastRewind
				fmt.Fprintf(out, "%s: cursor %d -> %d", name, rw.From, rw.To)
				if rw.Since != nil {
					fmt.Fprintf(out, " (the rows created since %s)", rw.Since.Format(time.RFC3339))
				}
				fmt.Fprintf(out, "; the next sync reads the log rows after id %d (statements already stored are not stored twice)\n", rw.To)
				return nil
			})
		},
	}
	cmd.Flags().String("source", "", "the source (needed when there are several)")
	cmd.Flags().Int64("to", 0, "set the cursor to this log id: the rows after it are read again")
	cmd.Flags().String("since", "", "read again the rows created from this time on (2025-01-01, or RFC 3339)")
	return cmd
}

func previewCmd(load func() (*config.Config, error), out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "preview --source NAME --log-id N",
		Short: "Print the statements one log row becomes (or why it is skipped), storing nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			only, _ := cmd.Flags().GetString("source")
			name, err := oneSource(cfg, only)
			if err != nil {
				return err
			}
			if !cmd.Flags().Lookup("log-id").Changed {
				return fmt.Errorf("give --log-id N")
			}
			id, _ := cmd.Flags().GetInt64("log-id")
			return withMoodle(cmd.Context(), cfg, name, func(_ *store.DB, syncers []*moodle.Syncer) error {
				pv, err := syncers[0].Preview(cmd.Context(), id)
				if err != nil {
					return fmt.Errorf("source %s: %w", name, err)
				}
				printPreview(out, cmd.ErrOrStderr(), pv)
				return nil
			})
		},
	}
	cmd.Flags().String("source", "", "the source (needed when there are several)")
	cmd.Flags().Int64("log-id", 0, "the logstore_standard_log id")
	return cmd
}

// printPreview writes a row's statements as indented JSON on out, or why it
// is skipped; notes about the row go to errw.
func printPreview(out, errw io.Writer, pv *moodle.Preview) {
	synced := "not synced yet"
	if pv.Synced {
		synced = "synced already"
	}
	head := fmt.Sprintf("log id %d: %s at %s (%s, cursor %d)", pv.LogID, pv.Event, pv.Created.Format(time.RFC3339), synced, pv.Cursor)
	if pv.Skipped != "" {
		fmt.Fprintf(out, "%s\nskipped (%s): %s\n", head, pv.Reason, pv.Skipped)
		return
	}
	fmt.Fprintf(errw, "%s: %s (previewed, not stored)\n", head, moodlePlural(len(pv.Statements), "statement"))
	for i, why := range pv.Invalid {
		if why != "" {
			fmt.Fprintf(errw, "statement %d would be left out (invalid): %s\n", i, why)
		}
	}
	for _, c := range pv.Conflicts {
		if c.Reason == moodle.ConflictLegacy {
			fmt.Fprintf(errw, "statement %d: its public id %s is taken by another authority: a sync counts a conflict and stores it under its keyed id\n", c.Index, c.ID)
			continue
		}
		fmt.Fprintf(errw, "statement %d: id %s is taken (%s): a sync counts a conflict and does not store it\n", c.Index, c.ID, c.Reason)
	}
	b, _ := json.MarshalIndent(pv.Statements, "", "  ")
	fmt.Fprintf(out, "%s\n", b)
}

func moodlePlural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
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
