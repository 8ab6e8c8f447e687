package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xapibridge/bridge/internal/app"
	"github.com/xapibridge/bridge/lrs/admin"

	"github.com/spf13/cobra"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// dataCmds add export and erasure subcommands to the commands tenantCmds
// made (by name), or new commands, and add `bridge retention`.
func dataCmds(load func() (*config.Config, error), out io.Writer, cmds []*cobra.Command) []*cobra.Command {
	run := func(fn func(cmd *cobra.Command, args []string, cfg *config.Config, a *admin.Admin) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return withDataAdmin(cmd.Context(), cfg, func(a *admin.Admin) error { return fn(cmd, args, cfg, a) })
		}
	}
	parent := func(name, short string) *cobra.Command {
		for _, c := range cmds {
			if c.Name() == name {
				return c
			}
		}
		c := &cobra.Command{Use: name, Short: short}
		cmds = append(cmds, c)
		return c
	}
	parent("store", "Manage stores (each an isolated LRS)").AddCommand(exportCmd(run, out))
	parent("person", "Manage persons (the several agents of one learner)").AddCommand(eraseCmds(run, out)...)
	return append(cmds, retentionCmd(run, out))
}

type dataRun func(fn func(cmd *cobra.Command, args []string, cfg *config.Config, a *admin.Admin) error) func(*cobra.Command, []string) error

// withDataAdmin opens the database and runs fn with the admin operations
// on it (no server needed).
func withDataAdmin(ctx context.Context, cfg *config.Config, fn func(*admin.Admin) error) error {
	db, err := app.OpenDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := app.CheckSchema(ctx, cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	return fn(app.NewAdmin(db, strings.TrimSuffix(cfg.BaseURL, "/"), nil))
}

// dataStore resolves a store reference: an id, a name in the default
// organisation, or org/name.
func dataStore(ctx context.Context, a *admin.Admin, ref string) (int64, error) {
	if ref == "" {
		return 0, fmt.Errorf("--store: give the store's id or name")
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if a.Tenants == nil {
		if err != nil || id < 1 {
			return 0, fmt.Errorf("--store: %q is not a store id", ref)
		}
		return id, nil
	}
	var s *lrs.Store
	if err == nil {
		s, err = a.Tenants.GetStore(ctx, id)
	} else {
		s, err = a.Tenants.FindStore(ctx, ref)
	}
	if err != nil {
		return 0, err
	}
	return s.ID, nil
}

func exportCmd(run dataRun, out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export --store ID [--format ndjson|csv] [--columns C,...] [--output FILE] [filters]",
		Short: "Export a store's statements (oldest first) as NDJSON or CSV, streamed",
		Long: "Export the statements of a store, oldest first, as NDJSON (one statement per line, exactly as stored)\n" +
			"or CSV (one column per dotted path into the statement). Voided statements are left out, as in\n" +
			"GET /statements. Memory stays constant however many statements there are.\n\n" +
			"Default CSV columns: " + strings.Join(admin.DefaultExportColumns, ","),
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, _ *config.Config, a *admin.Admin) error {
			f := cmd.Flags()
			ref, _ := f.GetString("store")
			if len(args) == 1 {
				ref = args[0]
			}
			storeID, err := dataStore(cmd.Context(), a, ref)
			if err != nil {
				return err
			}
			format, _ := f.GetString("format")
			if format, err = admin.CheckExportFormat(format); err != nil {
				return err
			}
			var cols []string
			if c, _ := f.GetString("columns"); c != "" || format == admin.FormatCSV {
				if format != admin.FormatCSV {
					return fmt.Errorf("--columns: only with --format csv")
				}
				if cols, err = admin.ParseExportColumns(c); err != nil {
					return err
				}
			}
			q, err := exportFilters(cmd)
			if err != nil {
				return err
			}
			output, _ := f.GetString("output")
			w, finish, err := exportOutput(output, out)
			if err != nil {
				return err
			}
			start := time.Now()
			n, err := a.Export(cmd.Context(), storeID, q, format, cols, w)
			if ferr := finish(err == nil); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			if output != "" && output != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %d statements to %s in %s\n", n, output, time.Since(start).Round(time.Millisecond))
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.String("store", "", "store id, name (default organisation) or org/name")
	f.String("format", "ndjson", "ndjson or csv")
	f.String("columns", "", "CSV columns: comma-separated dotted paths (default "+strings.Join(admin.DefaultExportColumns, ",")+")")
	f.StringP("output", "o", "", "write to FILE (written to FILE.tmp, then renamed) instead of stdout")
	f.String("agent", "", "only statements of this Agent (JSON), as GET /statements agent=")
	f.String("verb", "", "only statements with this verb IRI")
	f.String("activity", "", "only statements about this Activity IRI")
	f.String("registration", "", "only statements with this registration UUID")
	f.String("since", "", "only statements stored after this timestamp")
	f.String("until", "", "only statements stored at or before this timestamp")
	f.Bool("related-agents", false, "agent matches anywhere in the statement")
	f.Bool("related-activities", false, "activity matches anywhere in the statement")
	return cmd
}

// exportFilters reads the filter flags into a Query, validated as
// GET /statements validates its parameters.
func exportFilters(cmd *cobra.Command) (lrs.Query, error) {
	f := cmd.Flags()
	var q lrs.Query
	if v, _ := f.GetString("agent"); v != "" {
		a, err := xapi.DecodeJSON([]byte(v))
		if err != nil {
			return q, fmt.Errorf("--agent: not valid JSON: %v", err)
		}
		if err := xapi.ValidateAgentParam(a, xapi.V200); err != nil {
			return q, fmt.Errorf("--agent: %v", err)
		}
		q.Agent, _ = xapi.AgentKey(a.(map[string]any))
	}
	if v, _ := f.GetString("verb"); v != "" {
		if !xapi.IsIRI(v) {
			return q, fmt.Errorf("--verb: %q is not an IRI", v)
		}
		q.Verb = v
	}
	if v, _ := f.GetString("activity"); v != "" {
		if !xapi.IsIRI(v) {
			return q, fmt.Errorf("--activity: %q is not an IRI", v)
		}
		q.Activity = v
	}
	if v, _ := f.GetString("registration"); v != "" {
		if !xapi.IsUUID(v) {
			return q, fmt.Errorf("--registration: %q is not a UUID", v)
		}
		q.Registration = strings.ToLower(v)
	}
	for _, name := range []string{"since", "until"} {
		v, _ := f.GetString(name)
		if v == "" {
			continue
		}
		t, err := xapi.ParseTimestamp(v)
		if err != nil {
			return q, fmt.Errorf("--%s: %q is not an ISO 8601 timestamp", name, v)
		}
		if name == "since" {
			q.Since = &t
		} else {
			q.Until = &t
		}
	}
	q.RelatedAgents, _ = f.GetBool("related-agents")
	q.RelatedActivities, _ = f.GetBool("related-activities")
	return q, nil
}

// exportOutput opens where the export goes: stdout, a device or pipe as
// it is, or a regular FILE through FILE.tmp renamed on success (so a failed
// export never looks complete).
func exportOutput(path string, stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if path == "" || path == "-" {
		bw := bufio.NewWriterSize(stdout, 64<<10)
		return bw, func(bool) error { return bw.Flush() }, nil
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		// A device or pipe (/dev/null, a FIFO): write to it as it is.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, nil, err
		}
		bw := bufio.NewWriterSize(f, 64<<10)
		return bw, func(bool) error {
			err := bw.Flush()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		}, nil
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return f, func(ok bool) error {
		if !ok {
			f.Close()
			os.Remove(tmp)
			return nil
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(tmp, path)
	}, nil
}

// eraseCmds are `person erase` and `person erasures`.
func eraseCmds(run dataRun, out io.Writer) []*cobra.Command {
	cmd := &cobra.Command{
		Use:   "erase --store ID (PERSON_ID | --agent JSON) --yes",
		Short: "Erase a person (every agent) or one agent from a store, irreversibly",
		Long: "Erase a person from a store: statements where one of their agents is the actor are deleted, the\n" +
			"statements of others that name them (object, instructor, team, group member, authority, context\n" +
			"agents and groups) get a pseudonymous Agent in their place, and their State and Agent Profile\n" +
			"documents are deleted. The erasure is recorded, with counts only. There is no undo.",
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, _ *config.Config, a *admin.Admin) error {
			f := cmd.Flags()
			ref, _ := f.GetString("store")
			storeID, err := dataStore(cmd.Context(), a, ref)
			if err != nil {
				return err
			}
			agent, _ := f.GetString("agent")
			if (len(args) == 1) == (agent != "") {
				return fmt.Errorf("give a person id or --agent JSON (one of them)")
			}
			if yes, _ := f.GetBool("yes"); !yes {
				return fmt.Errorf("erasure cannot be undone: add --yes to confirm")
			}
			by, _ := f.GetString("requested-by")
			if by == "" {
				by = "cli"
				if u := os.Getenv("USER"); u != "" {
					by = "cli:" + u
				}
			}
			var e *lrs.Erasure
			if agent != "" {
				e, err = a.EraseAgent(cmd.Context(), storeID, json.RawMessage(agent), by)
			} else {
				pid, perr := strconv.ParseInt(args[0], 10, 64)
				if perr != nil || pid < 1 {
					return fmt.Errorf("person: %q is not an id", args[0])
				}
				e, err = a.ErasePerson(cmd.Context(), storeID, pid, by)
			}
			if err != nil {
				return err
			}
			if j, _ := f.GetBool("json"); j {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(e)
			}
			fmt.Fprintf(out, "erasure %d: %d agents, %d statements deleted, %d redacted, %d documents deleted\n",
				e.ID, e.Agents, e.StatementsDeleted, e.StatementsRedacted, e.DocumentsDeleted)
			return nil
		}),
	}
	f := cmd.Flags()
	f.String("store", "", "store id, name (default organisation) or org/name")
	f.String("agent", "", "erase this one Agent (JSON) instead of a person")
	f.String("requested-by", "", "who asked for the erasure, for the record (default cli:$USER)")
	f.Bool("yes", false, "confirm: the erasure cannot be undone")
	f.Bool("json", false, "print the erasure record as JSON")

	erasures := &cobra.Command{Use: "erasures --store ID", Short: "List a store's erasure records", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, _ *config.Config, a *admin.Admin) error {
			ref, _ := cmd.Flags().GetString("store")
			storeID, err := dataStore(cmd.Context(), a, ref)
			if err != nil {
				return err
			}
			es, err := a.ListErasures(cmd.Context(), storeID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPERSON\tAGENTS\tDELETED\tREDACTED\tDOCUMENTS\tBY\tWHEN")
			for _, e := range es {
				fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", e.ID, e.PersonID, e.Agents, e.StatementsDeleted,
					e.StatementsRedacted, e.DocumentsDeleted, e.RequestedBy, e.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		})}
	erasures.Flags().String("store", "", "store id, name (default organisation) or org/name")
	return []*cobra.Command{cmd, erasures}
}

func retentionCmd(run dataRun, out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "retention", Short: "Archive and remove statements past their store's retention"}
	runCmd := &cobra.Command{Use: "run", Short: "Apply every store's retention now (the server also does it hourly)", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, cfg *config.Config, a *admin.Admin) error {
			dir, _ := cmd.Flags().GetString("archive-dir")
			if dir == "" {
				dir = app.ArchiveDir(cfg)
			}
			runs, err := a.ApplyRetention(cmd.Context(), time.Now(), dir)
			if j, _ := cmd.Flags().GetBool("json"); j {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if runs == nil {
					runs = []admin.RetentionRun{}
				}
				if eerr := enc.Encode(runs); eerr != nil {
					return eerr
				}
				return err
			}
			if len(runs) == 0 && err == nil {
				fmt.Fprintln(out, "no store has a retention")
			}
			for _, r := range runs {
				switch {
				case r.Error != "":
					fmt.Fprintf(out, "%s: archived %d, deleted %d, FAILED: %s\n", r.Store, r.Archived, r.Deleted, r.Error)
				case r.Archived == 0:
					fmt.Fprintf(out, "%s: nothing stored before %s\n", r.Store, r.Cutoff.Format(time.RFC3339))
				default:
					fmt.Fprintf(out, "%s: archived %d statements stored before %s to %s, deleted %d\n",
						r.Store, r.Archived, r.Cutoff.Format(time.RFC3339), r.File, r.Deleted)
				}
			}
			return err
		})}
	runCmd.Flags().String("archive-dir", "", "where archives go (default <data_dir>/archive)")
	runCmd.Flags().Bool("json", false, "print the result as JSON")
	cmd.AddCommand(runCmd)
	return cmd
}
