package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/fhi/sysvak-import/internal/intake"
)

type pendingFlags struct {
	config, state, format, logLevel, logFormat, lang string
	receipts                                         bool
}

func pendingCmd() *command {
	return &command{
		name:    "pending",
		summary: "List spooled files that wait for a password (id, received, sender, file name, size); --receipts lists the receipts that wait.",
		examples: []string{
			"sysvak-import pending --state /var/lib/sysvak",
			"sysvak-import pending --receipts",
			"sysvak-import pending --format json",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &pendingFlags{}
			fs.StringVar(&o.config, "config", "", "TOML config file")
			fs.StringVar(&o.state, "state", "./sysvak-state", "state folder")
			fs.StringVar(&o.format, "format", "text", "text or json")
			fs.StringVar(&o.lang, "lang", "nb", "language of the list: nb (Norwegian bokmål) or en")
			fs.StringVar(&o.logLevel, "log-level", "info", "log level")
			fs.StringVar(&o.logFormat, "log-format", "", "json or console")
			fs.BoolVar(&o.receipts, "receipts", false, "list the receipts that wait to be sent or were given up, instead of the files")
			return o
		},
		run: runPending,
	}
}

func runPending(ctx context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*pendingFlags)
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "sysvak-import pending: "+msg(o.lang, "tar ingen argumenter (se -h)", "takes no arguments (see -h)"))
		return exitUsage
	}
	lang := lower(o.lang)
	if lang != "nb" && lang != "en" {
		fmt.Fprintf(e.stderr, "sysvak-import pending: --lang must be nb or en, not %q\n", o.lang)
		return exitUsage
	}
	if err := requireState(lang, o.state); err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import pending: %v\n", err)
		return exitUsage
	}
	log, err := newLogger(e, o.logFormat, o.logLevel)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import pending: %v\n", err)
		return exitUsage
	}
	st, err := openState(ctx, o.state, "", 15*time.Second)
	if err != nil {
		return exitFor(e, log, err)
	}
	defer st.Close()
	if o.receipts {
		return printPendingReceipts(ctx, e, st, o.format, lang, log)
	}
	list, err := intake.New(st, intake.Config{Log: log}).Pending(ctx)
	if err != nil {
		return exitFor(e, log, err)
	}
	if lower(o.format) == "json" {
		type item struct {
			ID        string    `json:"id"`
			Received  time.Time `json:"received"`
			Sender    string    `json:"sender"`
			FileName  string    `json:"file_name"`
			Size      int64     `json:"size"`
			LastError string    `json:"last_error,omitempty"`
		}
		items := []item{}
		for _, f := range list {
			items = append(items, item{f.ID, f.Received, f.Source.Sender, f.Name, f.Size, f.LastError})
		}
		if err := writeJSONLine(e.stdout, items); err != nil {
			return exitOperational
		}
		return exitOK
	}
	defer noteWaitingReceipts(ctx, e.stdout, st, lang)
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, msg(lang, "(ingen fil venter på passord)", "(no file waits for a password)"))
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, msg(lang, "ID\tMOTTATT\tAVSENDER\tFIL\tSTØRRELSE\tSISTE FEIL", "ID\tRECEIVED\tSENDER\tFILE\tSIZE\tLAST ERROR"))
	for _, f := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", f.ID, f.Received.Local().Format("2006-01-02 15:04 MST"), f.Source.Sender,
			f.Name, f.Size, f.LastError)
	}
	tw.Flush()
	return exitOK
}
