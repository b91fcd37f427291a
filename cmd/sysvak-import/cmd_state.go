package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
	"github.com/fhi/sysvak-import/internal/state/statedump"
)

type stateFlags struct {
	config, state, out, format, logLevel, logFormat string
	force                                           bool
}

func stateCmd() *command {
	return &command{
		name:    "state",
		summary: "Check a state, or move a folder state into PostgreSQL (check | export FILE | import FILE).",
		usage:   "check | export FILE|- | import FILE|-",
		examples: []string{
			"sysvak-import state check --state /var/lib/sysvak --out /srv/sysvak-out",
			"sysvak-import state check --state 'postgres://sysvak@db.example.org/sysvak?sslmode=verify-full'",
			"sysvak-import state export --state /var/lib/sysvak --out /srv/sysvak-out /var/lib/sysvak-dump.jsonl",
			"PGPASSFILE=/etc/sysvak/pgpass sysvak-import state import --state 'postgres://sysvak@db.example.org/sysvak' /var/lib/sysvak-dump.jsonl",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &stateFlags{}
			fs.StringVar(&o.config, "config", "", "TOML config file")
			fs.StringVar(&o.state, "state", "./sysvak-state", "state folder or PostgreSQL URL (postgres://...)")
			fs.StringVar(&o.out, "out", "./sysvak-out", "output folder whose records.jsonl a folder state's check and export read")
			fs.StringVar(&o.format, "format", "text", "check: text or json")
			fs.BoolVar(&o.force, "force", false, "export: overwrite an existing dump file")
			fs.StringVar(&o.logLevel, "log-level", "info", "log level")
			fs.StringVar(&o.logFormat, "log-format", "", "json or console")
			return o
		},
		run: runState,
	}
}

func runState(ctx context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*stateFlags)
	if len(args) == 0 || (args[0] == "check" && len(args) != 1) || (args[0] != "check" && len(args) != 2) {
		fmt.Fprintln(e.stderr, "sysvak-import state: usage: state check | state export FILE|- | state import FILE|- (see -h)")
		return exitUsage
	}
	log, err := newLogger(e, o.logFormat, o.logLevel)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import state: %v\n", err)
		return exitUsage
	}
	if args[0] == "import" && !pgstate.IsURL(o.state) {
		fmt.Fprintln(e.stderr, "sysvak-import state import: --state must be a PostgreSQL URL (postgres://...): a dump is imported into PostgreSQL")
		return exitUsage
	}
	if args[0] != "check" && args[0] != "export" && args[0] != "import" {
		fmt.Fprintf(e.stderr, "sysvak-import state: unknown subcommand %q (check, export, import)\n", args[0])
		return exitUsage
	}
	st, err := openState(ctx, o.state, "", 15*time.Second)
	if err != nil {
		return exitFor(e, log, err)
	}
	defer st.Close()
	switch args[0] {
	case "check":
		return stateCheck(ctx, e, o, st)
	case "export":
		return stateExport(ctx, e, o, st, args[1])
	default:
		return stateImport(ctx, e, st.(*pgstate.Store), args[1])
	}
}

func stateCheck(ctx context.Context, e *env, o *stateFlags, st state.Store) int {
	out := o.out
	if _, own := st.(statedump.RecordLister); own {
		out = ""
	}
	probs, err := statedump.Check(ctx, st, out)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import state check: cannot read the state: %v\n", err)
		return exitOperational
	}
	if lower(o.format) == "json" {
		if probs == nil {
			probs = []statedump.Problem{}
		}
		if err := writeJSONLine(e.stdout, map[string]any{"consistent": len(probs) == 0, "problems": probs}); err != nil {
			return exitOperational
		}
	} else {
		for _, p := range probs {
			row := ""
			if p.Row > 0 {
				row = fmt.Sprintf(" row %d", p.Row)
			}
			fmt.Fprintf(e.stdout, "%s: file %s%s: %s\n", p.Code, p.FileID, row, p.Detail)
		}
		if len(probs) == 0 {
			fmt.Fprintln(e.stdout, "the state is consistent")
		} else {
			fmt.Fprintf(e.stdout, "%d inconsistencies\n", len(probs))
		}
	}
	if len(probs) > 0 {
		return exitRowsRejects
	}
	return exitOK
}

func stateExport(ctx context.Context, e *env, o *stateFlags, st state.Store, path string) int {
	var w io.Writer = e.stdout
	var f *os.File
	tmp := ""
	if path != "-" {
		if _, err := os.Lstat(path); err == nil && !o.force {
			fmt.Fprintf(e.stderr, "sysvak-import state export: %s exists (use --force to replace it)\n", path)
			return exitUsage
		}
		var err error
		f, err = os.CreateTemp(filepath.Dir(path), ".sysvak-dump-*")
		if err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import state export: %v\n", err)
			return exitOperational
		}
		tmp = f.Name()
		defer os.Remove(tmp)
		w = f
	}
	stats, err := statedump.Export(ctx, st, o.out, w)
	if f != nil {
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import state export: %v\n", err)
		return exitOperational
	}
	fmt.Fprintf(e.stderr, "exported %s\n", stats)
	return exitOK
}

func stateImport(ctx context.Context, e *env, st *pgstate.Store, path string) int {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import state import: %v\n", errWithoutPath(err))
			return exitFileFailed
		}
		defer f.Close()
		r = f
	}
	stats, err := st.Import(ctx, r)
	if errors.Is(err, pgstate.ErrNotEmpty) {
		fmt.Fprintf(e.stderr, "sysvak-import state import: %v\n", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import state import: %v\n", err)
		return exitOperational
	}
	fmt.Fprintf(e.stderr, "imported %s\n", stats)
	return exitOK
}
