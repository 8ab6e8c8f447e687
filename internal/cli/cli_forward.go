package cli

import (
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

	"github.com/spf13/cobra"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/internal/app"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/admin"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// withAdmin opens the database and the forwarding admin for a CLI command.
func withAdmin(ctx context.Context, cfg *config.Config, fn func(*dispatch.Admin) error) error {
	return withAdmins(ctx, cfg, func(a *dispatch.Admin, _ *admin.Admin) error { return fn(a) })
}

// withAdmins is withAdmin with the store administration too (to resolve
// --store).
func withAdmins(ctx context.Context, cfg *config.Config, fn func(*dispatch.Admin, *admin.Admin) error) error {
	db, err := app.OpenDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := app.CheckSchema(ctx, cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	fwd, err := app.NewForwarding(ctx, cfg, db, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil, 0)
	if err != nil {
		return err
	}
	return fn(fwd.Admin, app.NewAdmin(db, strings.TrimSuffix(cfg.BaseURL, "/"), nil))
}

func rulesCmd(load func() (*config.Config, error), out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Check forwarding rules"}
	test := &cobra.Command{
		Use:   "test STATEMENT.json",
		Short: "Print which rules match a statement and where it would go, without sending",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			engine, err := app.CompileRules(cfg)
			if err != nil {
				return err
			}
			body, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			stmts, _, err := xapi.DecodeStatements(body)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			store, _ := cmd.Flags().GetString("store")
			personal := &personalCheck{cfg: cfg}
			defer personal.close()
			for i, st := range stmts {
				if err := xapi.ValidateStatement(st, xapi.V200); err != nil {
					fmt.Fprintf(out, "statement %d: not a valid xAPI statement (%v); evaluating anyway\n", i, err)
				}
				matches, err := engine.Match(store, st)
				if err != nil {
					fmt.Fprintf(out, "statement %d: rule errors: %v\n", i, err)
				}
				if len(matches) == 0 {
					fmt.Fprintf(out, "statement %d: no rule matches; it would not be forwarded\n", i)
					continue
				}
				for _, m := range matches {
					if m.Target == dispatch.PersonalTarget {
						fmt.Fprintf(out, "statement %d: rule %q -> target %q: %s\n", i, m.Rule, m.Target, personal.describe(cmd.Context(), store, st))
						continue
					}
					fmt.Fprintf(out, "statement %d: rule %q -> target %q\n", i, m.Rule, m.Target)
					if show, _ := cmd.Flags().GetBool("show"); show {
						b, _ := json.MarshalIndent(engine.Apply(m.Rule, st), "  ", "  ")
						fmt.Fprintf(out, "  %s\n", b)
					}
				}
			}
			return nil
		},
	}
	test.Flags().String("store", "default", "the store the statement is in, as rules name it: default, a store name, or org/name")
	test.Flags().Bool("show", false, "also print the statement as it would be sent (after transforms)")
	cmd.AddCommand(test)
	return cmd
}

// personalCheck tells `rules test` whether a "personal" match would be
// delivered: only when the actor has a personal LRS registered in the
// store, which it reads from the bridge's database (opened on first use).
type personalCheck struct {
	cfg     *config.Config
	db      *store.DB
	openErr error
}

func (p *personalCheck) describe(ctx context.Context, storeRef string, stmt map[string]any) string {
	actor, _ := stmt["actor"].(map[string]any)
	key, ok := xapi.AgentKey(actor)
	if !ok {
		return "no delivery: the actor has no mbox, mbox_sha1sum, openid or account to find a personal LRS by"
	}
	if p.db == nil && p.openErr == nil {
		if path := app.SQLitePath(p.cfg); path != "" {
			if _, err := os.Stat(path); err != nil {
				return fmt.Sprintf("no delivery: no personal LRS is registered yet (no database at %s)", path)
			}
		}
		p.db, p.openErr = app.OpenDB(ctx, p.cfg, false)
		if p.openErr == nil {
			if p.openErr = app.CheckSchema(ctx, p.cfg, p.db, slog.New(slog.NewTextHandler(io.Discard, nil))); p.openErr != nil {
				p.db.Close()
				p.db = nil
			}
		}
	}
	if p.openErr != nil {
		return fmt.Sprintf("delivered only if %s has a personal LRS registered in store %q (could not read the registrations: %v)", key, storeRef, p.openErr)
	}
	st, err := p.db.FindStore(ctx, storeRef)
	if err != nil {
		return fmt.Sprintf("no delivery: %v", err)
	}
	reg, err := p.db.GetPersonalLRS(ctx, st.ID, key)
	if lrs.ErrorCode(err) == lrs.ENOTFOUND {
		return fmt.Sprintf("no delivery: %s has no personal LRS registered in store %q (bridge personal add)", key, storeRef)
	}
	if err != nil {
		return fmt.Sprintf("delivered only if %s has a personal LRS registered in store %q (could not read the registrations: %v)", key, storeRef, err)
	}
	return fmt.Sprintf("to %s's personal LRS at %s (only for statements stored by a Moodle source or a trusted credential)", key, dispatch.PublicEndpoint(reg.Endpoint))
}

func (p *personalCheck) close() {
	if p.db != nil {
		p.db.Close()
	}
}

func deadFilter(cmd *cobra.Command) (lrs.DeadFilter, bool) {
	target, _ := cmd.Flags().GetString("target")
	ids, _ := cmd.Flags().GetInt64Slice("id")
	all, _ := cmd.Flags().GetBool("all")
	return lrs.DeadFilter{Target: target, IDs: ids}, all || target != "" || len(ids) > 0
}

func forwardCmd(load func() (*config.Config, error), out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "forward", Short: "Inspect and manage statement forwarding"}
	run := func(fn func(cmd *cobra.Command, a *dispatch.Admin) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return withAdmin(cmd.Context(), cfg, func(a *dispatch.Admin) error { return fn(cmd, a) })
		}
	}
	status := &cobra.Command{Use: "status", Short: "Per target: breaker, pending, oldest pending, retrying, dead, and the last error", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, a *dispatch.Admin) error {
			st, err := a.Status(cmd.Context())
			if err != nil {
				return err
			}
			writeStatus(out, st, time.Now())
			return nil
		})}
	dead := &cobra.Command{Use: "dead", Short: "List dead deliveries", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, a *dispatch.Admin) error {
			f, _ := deadFilter(cmd)
			f.Limit, _ = cmd.Flags().GetInt("limit")
			asJSON, _ := cmd.Flags().GetBool("json")
			list, err := a.Dead(cmd.Context(), f, asJSON)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTARGET\tRULE\tSTATEMENT\tATTEMPTS\tLAST ERROR")
			for _, d := range list {
				msg := d.LastError
				if len(msg) > 80 {
					msg = msg[:80] + "..."
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.Target, d.Rule, d.StatementID, d.Attempts, msg)
			}
			return tw.Flush()
		})}
	dead.Flags().String("target", "", "only this target")
	dead.Flags().Int("limit", 100, "at most this many")
	dead.Flags().Bool("json", false, "print JSON with the statements")

	action := func(use, short string, replay bool) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
			RunE: run(func(cmd *cobra.Command, a *dispatch.Admin) error {
				f, ok := deadFilter(cmd)
				if !ok {
					return fmt.Errorf("say which dead deliveries: --id N (repeatable), --target NAME, or --all")
				}
				var n int64
				var err error
				if replay {
					n, err = a.Replay(cmd.Context(), f)
				} else {
					n, err = a.Discard(cmd.Context(), f)
				}
				if err != nil {
					return err
				}
				fmt.Fprintln(out, deadActionMessage(n, replay))
				return nil
			})}
		c.Flags().String("target", "", "every dead delivery of this target")
		c.Flags().Int64Slice("id", nil, "a dead delivery id (repeatable)")
		c.Flags().Bool("all", false, "every dead delivery")
		return c
	}
	backfill := &cobra.Command{Use: "backfill", Short: "Run a rule over statements already stored and queue what it matches", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, a *dispatch.Admin) error {
			rule, _ := cmd.Flags().GetString("rule")
			sinceS, _ := cmd.Flags().GetString("since")
			since, err := dispatch.ParseSince(sinceS)
			if err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			n, err := a.Backfill(cmd.Context(), 1, rule, since)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "queued %s for rule %q; a running bridge sends them\n", count(n, "delivery", "deliveries"), rule)
			return nil
		})}
	backfill.Flags().String("rule", "", "the rule to run (required)")
	backfill.Flags().String("since", "", "only statements stored at or after this time: "+dispatch.SinceFormats)
	backfill.MarkFlagRequired("rule")
	cmd.AddCommand(status, dead, action("replay", "Send dead deliveries again", true),
		action("discard", "Delete dead deliveries", false), backfill)
	return cmd
}

// writeStatus prints `bridge forward status`: one row per target.
func writeStatus(out io.Writer, st []dispatch.TargetStatus, now time.Time) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tBREAKER\tPENDING\tOLDEST\tRETRYING\tDEAD\tLAST ERROR")
	for _, s := range st {
		breaker, oldest, lastErr := "-", "-", "-"
		if s.Breaker != "" {
			breaker = s.Breaker
		}
		if s.OldestPending != nil {
			oldest = age(now.Sub(*s.OldestPending))
		}
		if s.LastError != "" {
			lastErr = s.LastError
			if len(lastErr) > 80 {
				lastErr = strings.ToValidUTF8(lastErr[:80], "") + "..."
			}
			if s.LastErrorAt != nil {
				lastErr += " (" + age(now.Sub(*s.LastErrorAt)) + " ago)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\n", s.Target, breaker, s.Pending, oldest, s.Retrying, s.Dead, lastErr)
	}
	tw.Flush()
}

// age is a duration as operators read it: 42s, 5m07s, 3h20m, 2d4h.
func age(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// count is "1 delivery", "3 deliveries".
func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// deadActionMessage says what a replay or a discard did.
func deadActionMessage(n int64, replay bool) string {
	switch {
	case n == 0 && replay:
		return "no dead deliveries to queue again"
	case n == 0:
		return "no dead deliveries to discard"
	case replay:
		return count(n, "dead delivery", "dead deliveries") + " queued again; a running bridge sends them"
	default:
		return count(n, "dead delivery", "dead deliveries") + " discarded"
	}
}

func personalCmd(load func() (*config.Config, error), out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "personal", Short: "Register learners' personal LRSs (the \"personal\" target)"}
	// run resolves --store (an id, a name, or org/name; store 1 when not
	// given) and passes its id.
	run := func(fn func(cmd *cobra.Command, args []string, a *dispatch.Admin, storeID int64) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return withAdmins(cmd.Context(), cfg, func(a *dispatch.Admin, t *admin.Admin) error {
				var storeID int64 = 1
				if ref, _ := cmd.Flags().GetString("store"); ref != "" {
					st, err := t.ResolveStore(cmd.Context(), ref)
					if err != nil {
						return fmt.Errorf("--store: %w", err)
					}
					storeID = st.ID
				} else if cmd.Name() == "list" {
					storeID = 0 // every store
				}
				return fn(cmd, args, a, storeID)
			})
		}
	}
	agentFlag := func(cmd *cobra.Command) (map[string]any, error) {
		s, _ := cmd.Flags().GetString("agent")
		var agent map[string]any
		if err := json.Unmarshal([]byte(s), &agent); err != nil {
			return nil, fmt.Errorf(`--agent: want the learner's Agent as JSON, e.g. '{"mbox":"mailto:ann@example.org"}': %v`, err)
		}
		return agent, nil
	}
	add := &cobra.Command{Use: "add", Short: "Register (or replace) a learner's personal LRS", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, a *dispatch.Admin, storeID int64) error {
			agent, err := agentFlag(cmd)
			if err != nil {
				return err
			}
			var r dispatch.PersonalRegistration
			r.Agent = agent
			r.Endpoint, _ = cmd.Flags().GetString("endpoint")
			r.Version, _ = cmd.Flags().GetString("version")
			r.Username, _ = cmd.Flags().GetString("username")
			r.Password = os.Getenv("PERSONAL_LRS_PASSWORD")
			r.Token = os.Getenv("PERSONAL_LRS_TOKEN")
			if noCheck, _ := cmd.Flags().GetBool("no-check"); !noCheck {
				if err := a.CheckPersonal(cmd.Context(), r); err != nil {
					return fmt.Errorf("%w (not registered; --no-check registers it without asking the LRS)", err)
				}
			}
			v, err := a.RegisterPersonal(cmd.Context(), storeID, r)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "registered %s -> %s (xAPI %s)\n", v.AgentKey, v.Endpoint, v.Version)
			return nil
		})}
	add.Flags().String("agent", "", "the learner's Agent as JSON (required)")
	add.Flags().String("endpoint", "", "the personal LRS's xAPI endpoint (required)")
	add.Flags().String("version", "1.0.3", "xAPI version the personal LRS speaks")
	add.Flags().String("username", "", "Basic auth user; the password comes from $PERSONAL_LRS_PASSWORD (or a bearer token from $PERSONAL_LRS_TOKEN); not BRIDGE_*, which the config reserves")
	add.Flags().Bool("no-check", false, "register without first checking that the endpoint answers xAPI's About and takes the credentials")
	add.MarkFlagRequired("agent")
	add.MarkFlagRequired("endpoint")
	list := &cobra.Command{Use: "list", Short: "List registered personal LRSs", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, a *dispatch.Admin, storeID int64) error {
			all, err := a.ListPersonal(cmd.Context(), storeID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STORE\tAGENT\tENDPOINT\tVERSION")
			for _, p := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strconv.FormatInt(p.StoreID, 10), p.AgentKey, p.Endpoint, p.Version)
			}
			return tw.Flush()
		})}
	remove := &cobra.Command{Use: "remove", Short: "Remove a learner's personal LRS", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, a *dispatch.Admin, storeID int64) error {
			agent, err := agentFlag(cmd)
			if err != nil {
				return err
			}
			if err := a.DeletePersonal(cmd.Context(), storeID, agent); err != nil {
				return err
			}
			fmt.Fprintln(out, "removed")
			return nil
		})}
	remove.Flags().String("agent", "", "the learner's Agent as JSON (required)")
	remove.MarkFlagRequired("agent")
	for _, c := range []*cobra.Command{add, remove} {
		c.Flags().String("store", "", "the learner's store: an id, a store name, or org/name (default: store 1)")
	}
	list.Flags().String("store", "", "only this store's registrations: an id, a store name, or org/name (default: every store)")
	cmd.AddCommand(add, list, remove)
	return cmd
}
