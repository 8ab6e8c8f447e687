package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xapibridge/bridge/internal/app"
	"github.com/xapibridge/bridge/lrs/admin"

	"github.com/spf13/cobra"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/lrs"
)

// withTenantAdmin opens the database and runs fn with the organisation,
// store, credential and person management on it. It needs no running
// server; a running one sees changes to credentials within its cache
// lifetime (10s).
func withTenantAdmin(ctx context.Context, cfg *config.Config, fn func(*admin.Admin) error) error {
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

// tenantCmds are `bridge org`, `bridge store`, `bridge credential` and
// `bridge person`.
func tenantCmds(load func() (*config.Config, error), out io.Writer) []*cobra.Command {
	run := func(fn func(cmd *cobra.Command, args []string, a *admin.Admin) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return withTenantAdmin(cmd.Context(), cfg, func(a *admin.Admin) error { return fn(cmd, args, a) })
		}
	}
	return []*cobra.Command{orgCmd(run, out), storeCmd(run, out), credentialCmd(run, out), personCmd(run, out)}
}

type adminRun func(fn func(cmd *cobra.Command, args []string, a *admin.Admin) error) func(*cobra.Command, []string) error

func tenantParseID(what, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: %q is not an id", what, s)
	}
	return n, nil
}

func tenantPrintJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func tenantJSONFlag(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("json")
	return v
}

// tenantStoreFlag resolves --store (an id, a name in the default organisation,
// or org/name).
func tenantStoreFlag(cmd *cobra.Command, a *admin.Admin) (*lrs.Store, error) {
	ref, _ := cmd.Flags().GetString("store")
	if ref == "" {
		return nil, fmt.Errorf("--store: give the store's id or name")
	}
	return a.ResolveStore(cmd.Context(), ref)
}

func orgCmd(run adminRun, out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Manage organisations (which own stores)"}
	create := &cobra.Command{Use: "create NAME", Short: "Create an organisation", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			o, err := a.CreateOrganisation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if tenantJSONFlag(cmd) {
				return tenantPrintJSON(out, o)
			}
			fmt.Fprintf(out, "created organisation %d (%s)\n", o.ID, o.Name)
			return nil
		})}
	list := &cobra.Command{Use: "list", Short: "List organisations", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, a *admin.Admin) error {
			orgs, err := a.ListOrganisations(cmd.Context())
			if err != nil {
				return err
			}
			if tenantJSONFlag(cmd) {
				return tenantPrintJSON(out, orgs)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED")
			for _, o := range orgs {
				fmt.Fprintf(tw, "%d\t%s\t%s\n", o.ID, o.Name, o.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		})}
	rename := &cobra.Command{Use: "rename ID NAME", Short: "Rename an organisation", Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			o, err := a.ResolveOrganisation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o, err = a.RenameOrganisation(cmd.Context(), o.ID, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(out, "organisation %d is now %s\n", o.ID, o.Name)
			return nil
		})}
	del := &cobra.Command{Use: "delete ID", Short: "Delete an organisation that has no stores", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			o, err := a.ResolveOrganisation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := a.DeleteOrganisation(cmd.Context(), o.ID); err != nil {
				return err
			}
			fmt.Fprintf(out, "deleted organisation %d (%s)\n", o.ID, o.Name)
			return nil
		})}
	for _, c := range []*cobra.Command{create, list} {
		c.Flags().Bool("json", false, "print JSON")
	}
	cmd.AddCommand(create, list, rename, del)
	return cmd
}

func tenantPrintStores(out io.Writer, stores []*lrs.Store) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tORG\tNAME\tRETENTION\tCREATED")
	for _, s := range stores {
		ret := admin.FormatRetention(s.Retention)
		if ret == "" {
			ret = "-"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\n", s.ID, s.OrgID, s.Name, ret, s.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func storeCmd(run adminRun, out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "Manage stores (each an isolated LRS)",
		Long: "Manage stores. A store is given by its id, by its name (in the default organisation) or as org/name."}
	create := &cobra.Command{Use: "create --org ID NAME", Short: "Create a store in an organisation", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			orgRef, _ := cmd.Flags().GetString("org")
			o, err := a.ResolveOrganisation(cmd.Context(), orgRef)
			if err != nil {
				return err
			}
			retS, _ := cmd.Flags().GetString("retention")
			ret, err := admin.ParseRetention(retS)
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			s, err := a.CreateStore(cmd.Context(), o.ID, args[0])
			if err != nil {
				return err
			}
			if ret > 0 {
				if s, err = a.UpdateStore(cmd.Context(), s.ID, admin.StoreUpdate{Retention: &ret}); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "created store %d (%s) in organisation %d (%s)\n", s.ID, s.Name, o.ID, o.Name)
			return nil
		})}
	create.Flags().String("org", "1", "the organisation (id or name)")
	create.Flags().String("retention", "", `archive and remove statements older than this ("365d", "720h"); default: keep forever`)
	list := &cobra.Command{Use: "list", Short: "List stores", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, a *admin.Admin) error {
			var orgID int64
			if ref, _ := cmd.Flags().GetString("org"); ref != "" {
				o, err := a.ResolveOrganisation(cmd.Context(), ref)
				if err != nil {
					return err
				}
				orgID = o.ID
			}
			stores, err := a.ListStores(cmd.Context(), orgID)
			if err != nil {
				return err
			}
			if tenantJSONFlag(cmd) {
				return tenantPrintJSON(out, stores)
			}
			return tenantPrintStores(out, stores)
		})}
	list.Flags().String("org", "", "only the stores of this organisation (id or name)")
	list.Flags().Bool("json", false, "print JSON")
	stats := &cobra.Command{Use: "stats ID", Short: "What a store holds", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			s, err := a.ResolveStore(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := a.StoreStats(cmd.Context(), s.ID)
			if err != nil {
				return err
			}
			if tenantJSONFlag(cmd) {
				return tenantPrintJSON(out, st)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "store\t%d (%s)\n", s.ID, s.Name)
			fmt.Fprintf(tw, "statements\t%d (%d voided)\n", st.Statements, st.Voided)
			fmt.Fprintf(tw, "documents\t%d\n", st.Documents)
			fmt.Fprintf(tw, "activities\t%d\n", st.Activities)
			fmt.Fprintf(tw, "attachments\t%d (%d bytes)\n", st.Attachments, st.AttachmentBytes)
			fmt.Fprintf(tw, "credentials\t%d\n", st.Credentials)
			fmt.Fprintf(tw, "persons\t%d\n", st.Persons)
			fmt.Fprintf(tw, "pending forwards\t%d\n", st.PendingForwards)
			if st.FirstStored != nil {
				fmt.Fprintf(tw, "first stored\t%s\n", st.FirstStored.Format(time.RFC3339))
				fmt.Fprintf(tw, "last stored\t%s\n", st.LastStored.Format(time.RFC3339))
			}
			return tw.Flush()
		})}
	stats.Flags().Bool("json", false, "print JSON")
	del := &cobra.Command{Use: "delete ID --confirm NAME", Short: "Delete a store and ALL its data", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			s, err := a.ResolveStore(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			confirm, _ := cmd.Flags().GetString("confirm")
			if err := a.DeleteStore(cmd.Context(), s.ID, confirm); err != nil {
				if lrs.ErrorCode(err) == lrs.EINVALID {
					return fmt.Errorf("deleting store %d removes all its statements, documents, credentials and persons: add --confirm %s", s.ID, s.Name)
				}
				return err
			}
			fmt.Fprintf(out, "deleted store %d (%s) and all its data\n", s.ID, s.Name)
			return nil
		})}
	del.Flags().String("confirm", "", "the store's name, to confirm")
	setRetention := &cobra.Command{Use: "set-retention ID DURATION", Short: `Set how long statements are kept ("365d", "720h"; "0" or "off": forever)`,
		Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			s, err := a.ResolveStore(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			d, err := admin.ParseRetention(args[1])
			if err != nil {
				return err
			}
			if s, err = a.UpdateStore(cmd.Context(), s.ID, admin.StoreUpdate{Retention: &d}); err != nil {
				return err
			}
			if d == 0 {
				fmt.Fprintf(out, "store %d (%s) keeps statements forever\n", s.ID, s.Name)
			} else {
				fmt.Fprintf(out, "store %d (%s) keeps statements for %s\n", s.ID, s.Name, admin.FormatRetention(s.Retention))
			}
			return nil
		})}
	rename := &cobra.Command{Use: "rename ID NAME", Short: "Rename a store", Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			s, err := a.ResolveStore(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if s, err = a.UpdateStore(cmd.Context(), s.ID, admin.StoreUpdate{Name: &args[1]}); err != nil {
				return err
			}
			fmt.Fprintf(out, "store %d is now %s\n", s.ID, s.Name)
			return nil
		})}
	cmd.AddCommand(create, list, stats, del, setRetention, rename)
	return cmd
}

func splitScopeList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func tenantPrintSecret(out io.Writer, cmd *cobra.Command, info *admin.CredentialInfo, secret, what string) error {
	if tenantJSONFlag(cmd) {
		return tenantPrintJSON(out, struct {
			*admin.CredentialInfo
			Secret string `json:"secret"`
		}{info, secret})
	}
	trusted := ""
	if info.Trusted {
		trusted = "; trusted: its statements may go to personal LRSs"
	}
	fmt.Fprintf(out, "%s credential %s in store %d (scopes: %s%s)\n", what, info.Key, info.StoreID, strings.Join(info.Scopes, ","), trusted)
	fmt.Fprintf(out, "  key:    %s\n", info.Key)
	fmt.Fprintf(out, "  secret: %s\n", secret)
	fmt.Fprintf(out, "  (the secret is stored hashed and shown only this once)\n")
	return nil
}

func credentialCmd(run adminRun, out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "credential", Short: "Manage xAPI credentials (key and secret, scopes, store)"}
	create := &cobra.Command{Use: "create --store ID", Short: "Create a credential; prints its secret once", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, a *admin.Admin) error {
			s, err := tenantStoreFlag(cmd, a)
			if err != nil {
				return err
			}
			scopes, _ := cmd.Flags().GetString("scopes")
			name, _ := cmd.Flags().GetString("name")
			key, _ := cmd.Flags().GetString("key")
			trusted, _ := cmd.Flags().GetBool("trusted")
			info, secret, err := a.CreateCredential(cmd.Context(), s.ID, admin.CredentialSpec{Key: key, Name: name, Scopes: splitScopeList(scopes), Trusted: trusted})
			if err != nil {
				return err
			}
			return tenantPrintSecret(out, cmd, info, secret, "created")
		})}
	create.Flags().String("store", "", "the store (id or name; required)")
	create.Flags().String("scopes", "all", "comma-separated scopes: "+strings.Join(lrs.Scopes, ", "))
	create.Flags().String("name", "", "a name for the credential (shown as the authority's name)")
	create.Flags().String("key", "", "the key (default: generated)")
	create.Flags().Bool("trusted", false, "let the statements it stores be forwarded to their actor's personal LRS (rules with target personal)")
	create.Flags().Bool("json", false, "print JSON")
	create.MarkFlagRequired("store")
	list := &cobra.Command{Use: "list --store ID", Short: "List a store's credentials (never secrets)", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, a *admin.Admin) error {
			s, err := tenantStoreFlag(cmd, a)
			if err != nil {
				return err
			}
			creds, err := a.ListCredentials(cmd.Context(), s.ID)
			if err != nil {
				return err
			}
			if tenantJSONFlag(cmd) {
				return tenantPrintJSON(out, creds)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tNAME\tSCOPES\tTRUSTED\tSOURCE\tCREATED")
			for _, c := range creds {
				trusted := "no"
				if c.Trusted {
					trusted = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Key, c.Name, strings.Join(c.Scopes, ","), trusted, c.Source, c.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		})}
	list.Flags().String("store", "", "the store (id or name; required)")
	list.Flags().Bool("json", false, "print JSON")
	list.MarkFlagRequired("store")
	rotate := &cobra.Command{Use: "rotate KEY", Short: "Give a credential a new secret (printed once); the old one stops working", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			info, secret, err := a.RotateCredential(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return tenantPrintSecret(out, cmd, info, secret, "rotated")
		})}
	rotate.Flags().Bool("json", false, "print JSON")
	del := &cobra.Command{Use: "delete KEY", Short: "Delete a credential", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			if err := a.DeleteCredential(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(out, "deleted credential %s\n", args[0])
			return nil
		})}
	setScopes := &cobra.Command{Use: "set-scopes KEY SCOPES", Short: "Replace a credential's scopes (comma-separated)", Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			scopes := splitScopeList(args[1])
			if scopes == nil {
				scopes = []string{}
			}
			info, err := a.UpdateCredential(cmd.Context(), args[0], admin.CredentialUpdate{Scopes: scopes})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "credential %s now has scopes %s\n", info.Key, strings.Join(info.Scopes, ","))
			return nil
		})}
	setTrusted := &cobra.Command{Use: "set-trusted KEY true|false",
		Short: "Mark a credential trusted (its statements may be forwarded to their actor's personal LRS) or not", Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			trusted, err := strconv.ParseBool(args[1])
			if err != nil {
				return fmt.Errorf("set-trusted: %q is not true or false", args[1])
			}
			info, err := a.UpdateCredential(cmd.Context(), args[0], admin.CredentialUpdate{Trusted: &trusted})
			if err != nil {
				return err
			}
			if info.Trusted {
				fmt.Fprintf(out, "credential %s is trusted: its statements may be forwarded to personal LRSs\n", info.Key)
			} else {
				fmt.Fprintf(out, "credential %s is not trusted: its statements are not forwarded to personal LRSs\n", info.Key)
			}
			return nil
		})}
	cmd.AddCommand(create, list, rotate, del, setScopes, setTrusted)
	return cmd
}

func tenantAgentFlags(cmd *cobra.Command) []json.RawMessage {
	vals, _ := cmd.Flags().GetStringArray("agent")
	out := make([]json.RawMessage, len(vals))
	for i, v := range vals {
		out[i] = json.RawMessage(v)
	}
	return out
}

func tenantPrintPerson(out io.Writer, p *lrs.Person) {
	name := p.Name
	if name == "" {
		name = "(no name)"
	}
	fmt.Fprintf(out, "person %d %s in store %d\n", p.ID, name, p.StoreID)
	for _, a := range p.Agents {
		fmt.Fprintf(out, "  %s\n", a.Key)
	}
}

func personCmd(run adminRun, out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "person", Short: "Manage persons (the several agents of one learner)"}
	const agentHelp = `an Agent as JSON, e.g. '{"mbox":"mailto:ann@example.org"}' (repeatable)`
	create := &cobra.Command{Use: "create --store ID --agent JSON...", Short: "Create a person from agents", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, a *admin.Admin) error {
			s, err := tenantStoreFlag(cmd, a)
			if err != nil {
				return err
			}
			name, _ := cmd.Flags().GetString("name")
			p, err := a.CreatePerson(cmd.Context(), s.ID, name, tenantAgentFlags(cmd))
			if err != nil {
				return cliAgentErr(err)
			}
			if tenantJSONFlag(cmd) {
				return tenantPrintJSON(out, p)
			}
			fmt.Fprint(out, "created ")
			tenantPrintPerson(out, p)
			return nil
		})}
	create.Flags().String("store", "", "the store (id or name; required)")
	create.Flags().StringArray("agent", nil, agentHelp)
	create.Flags().String("name", "", "a name for the person")
	create.Flags().Bool("json", false, "print JSON")
	create.MarkFlagRequired("store")
	create.MarkFlagRequired("agent")
	list := &cobra.Command{Use: "list --store ID", Short: "List a store's persons", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string, a *admin.Admin) error {
			s, err := tenantStoreFlag(cmd, a)
			if err != nil {
				return err
			}
			var all []*lrs.Person
			var after int64
			for {
				page, more, err := a.ListPersons(cmd.Context(), s.ID, after, 1000)
				if err != nil {
					return err
				}
				all = append(all, page...)
				if !more {
					break
				}
				after = page[len(page)-1].ID
			}
			if tenantJSONFlag(cmd) {
				if all == nil {
					all = []*lrs.Person{}
				}
				return tenantPrintJSON(out, all)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tAGENTS")
			for _, p := range all {
				keys := make([]string, len(p.Agents))
				for i, ag := range p.Agents {
					keys[i] = ag.Key
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\n", p.ID, p.Name, strings.Join(keys, " "))
			}
			return tw.Flush()
		})}
	list.Flags().String("store", "", "the store (id or name; required)")
	list.Flags().Bool("json", false, "print JSON")
	list.MarkFlagRequired("store")
	show := &cobra.Command{Use: "show --store ID ID", Short: "Show a person", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			s, err := tenantStoreFlag(cmd, a)
			if err != nil {
				return err
			}
			id, err := tenantParseID("person", args[0])
			if err != nil {
				return err
			}
			p, err := a.GetPerson(cmd.Context(), s.ID, id)
			if err != nil {
				return err
			}
			if tenantJSONFlag(cmd) {
				return tenantPrintJSON(out, p)
			}
			tenantPrintPerson(out, p)
			return nil
		})}
	show.Flags().String("store", "", "the store (id or name; required)")
	show.Flags().Bool("json", false, "print JSON")
	show.MarkFlagRequired("store")
	merge := &cobra.Command{Use: "merge --store ID INTO FROM", Short: "Move every agent of person FROM into person INTO, and delete FROM",
		Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			s, err := tenantStoreFlag(cmd, a)
			if err != nil {
				return err
			}
			into, err := tenantParseID("INTO", args[0])
			if err != nil {
				return err
			}
			from, err := tenantParseID("FROM", args[1])
			if err != nil {
				return err
			}
			p, err := a.MergePersons(cmd.Context(), s.ID, into, from)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "merged person %d into ", from)
			tenantPrintPerson(out, p)
			return nil
		})}
	merge.Flags().String("store", "", "the store (id or name; required)")
	merge.MarkFlagRequired("store")
	addAgent := &cobra.Command{Use: "add-agent --store ID ID --agent JSON...", Short: "Add agents to a person", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			s, err := tenantStoreFlag(cmd, a)
			if err != nil {
				return err
			}
			id, err := tenantParseID("person", args[0])
			if err != nil {
				return err
			}
			p, err := a.AddPersonAgents(cmd.Context(), s.ID, id, tenantAgentFlags(cmd))
			if err != nil {
				return cliAgentErr(err)
			}
			tenantPrintPerson(out, p)
			return nil
		})}
	addAgent.Flags().String("store", "", "the store (id or name; required)")
	addAgent.Flags().StringArray("agent", nil, agentHelp)
	addAgent.MarkFlagRequired("store")
	addAgent.MarkFlagRequired("agent")
	del := &cobra.Command{Use: "delete --store ID ID", Short: "Delete a person (the grouping; statements stay)", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			s, err := tenantStoreFlag(cmd, a)
			if err != nil {
				return err
			}
			id, err := tenantParseID("person", args[0])
			if err != nil {
				return err
			}
			if err := a.DeletePerson(cmd.Context(), s.ID, id); err != nil {
				return err
			}
			fmt.Fprintf(out, "deleted person %d\n", id)
			return nil
		})}
	del.Flags().String("store", "", "the store (id or name; required)")
	del.MarkFlagRequired("store")
	cmd.AddCommand(create, list, show, merge, addAgent, del)
	return cmd
}

// cliAgentErr says "--agent" where the admin layer says "agents[i]".
func cliAgentErr(err error) error {
	if lrs.ErrorCode(err) != lrs.EINVALID {
		return err
	}
	msg := lrs.ErrorMessage(err)
	rest, ok := strings.CutPrefix(msg, "agents[")
	if !ok {
		return err
	}
	i, rest, ok := strings.Cut(rest, "]")
	n, convErr := strconv.Atoi(i)
	if !ok || convErr != nil {
		return err
	}
	if r, ok := strings.CutPrefix(rest, "."); ok {
		rest = ": " + r
	}
	return fmt.Errorf("--agent #%d%s", n+1, rest)
}
