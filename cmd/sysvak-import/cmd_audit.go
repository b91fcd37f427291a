package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
)

type auditFlags struct {
	config, state, since, format, logLevel, logFormat string
	limit                                             int
}

func auditCmd() *command {
	return &command{
		name:    "audit",
		summary: "Print the audit log: console logins, unlocks, downloads, operator changes (SPEC 9).",
		examples: []string{
			"sysvak-import audit --state /var/lib/sysvak",
			"sysvak-import audit --since 2026-11-01 --format json",
			"sysvak-import audit --limit 50",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &auditFlags{}
			fs.StringVar(&o.config, "config", "", "TOML config file")
			fs.StringVar(&o.state, "state", "./sysvak-state", "state folder")
			fs.StringVar(&o.since, "since", "", "only entries at or after this date (YYYY-MM-DD) or time (RFC 3339)")
			fs.IntVar(&o.limit, "limit", 0, "only the last N entries (0: all)")
			fs.StringVar(&o.format, "format", "text", "text or json (one JSON object a line)")
			fs.StringVar(&o.logLevel, "log-level", "info", "log level")
			fs.StringVar(&o.logFormat, "log-format", "", "json or console")
			return o
		},
		run: runAudit,
	}
}

func runAudit(ctx context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*auditFlags)
	log, err := newLogger(e, o.logFormat, o.logLevel)
	if err != nil || len(args) > 0 || (o.format != "text" && o.format != "json") || o.limit < 0 {
		fmt.Fprintln(e.stderr, "sysvak-import audit: takes no arguments; --format text|json, --limit N, --since DATE (see -h)")
		return exitUsage
	}
	q := state.AuditQuery{Limit: o.limit}
	if o.since != "" {
		if q.Since, err = time.ParseInLocation("2006-01-02", o.since, time.Local); err != nil {
			if q.Since, err = time.Parse(time.RFC3339, o.since); err != nil {
				fmt.Fprintf(e.stderr, "sysvak-import audit: --since must be YYYY-MM-DD or RFC 3339, not %q\n", o.since)
				return exitUsage
			}
		}
	}
	st, err := openConsoleState(ctx, o.state, 15*time.Second)
	if err != nil {
		return exitFor(e, log, err)
	}
	defer st.Close()
	entries, err := st.ListAudit(ctx, q)
	if err != nil {
		return exitFor(e, log, err)
	}
	if o.format == "json" {
		enc := json.NewEncoder(e.stdout)
		for _, a := range entries {
			if err := enc.Encode(a); err != nil {
				return exitOperational
			}
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tUSER\tACTION\tFILE ID\tREMOTE\tOUTCOME")
	for _, a := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Time.Local().Format("2006-01-02 15:04:05"), dash(a.Actor),
			a.Action, dash(a.FileID), dash(a.Remote), dash(a.Detail))
	}
	if tw.Flush() != nil {
		return exitOperational
	}
	return exitOK
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
