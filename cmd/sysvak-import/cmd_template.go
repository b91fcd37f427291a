package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"

	"github.com/fhi/sysvak-import/importer/template"
	"github.com/fhi/sysvak-import/internal/fsutil"
)

type templateFlags struct {
	config, codes, lang string
	force               bool
}

func templateCmd() *command {
	return &command{
		name:    "template",
		summary: "Write an empty filimport workbook: header, text-formatted ID columns, date format, drop-downs, input hints and instructions.",
		usage:   "OUT.xlsx",
		examples: []string{
			"sysvak-import template vaksinasjoner.xlsx",
			"sysvak-import template --codes koder.csv vaksinasjoner.xlsx   # drop-down from your own code list",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &templateFlags{}
			fs.StringVar(&o.config, "config", "", "TOML config file")
			fs.StringVar(&o.codes, "codes", "", "CSV file replacing the built-in SYSVAK code list (code,name,atc,valid_from,valid_to)")
			fs.StringVar(&o.lang, "lang", "nb", "language of the hints and instructions: nb or en")
			fs.BoolVar(&o.force, "force", false, "overwrite OUT.xlsx if it exists")
			return o
		},
		run: runTemplate,
	}
}

func runTemplate(ctx context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*templateFlags)
	if len(args) != 1 {
		fmt.Fprintln(e.stderr, "sysvak-import template: "+msg(o.lang, "oppgi én UT.xlsx (se -h)", "name one OUT.xlsx (see -h)"))
		return exitUsage
	}
	lang := lower(o.lang)
	if lang != "nb" && lang != "en" {
		fmt.Fprintf(e.stderr, "sysvak-import template: --lang must be nb or en, not %q\n", o.lang)
		return exitUsage
	}
	if err := checkOutput(lang, args[0], o.force); err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import template: %v\n", err)
		return exitUsage
	}
	codes, err := loadCodes(o.codes)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import template: %v\n", err)
		return exitUsage
	}
	var buf bytes.Buffer
	if err := template.Write(ctx, &buf, codes, lang); err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import template: %v\n", err)
		return exitOperational
	}
	if err := fsutil.WriteFileAtomic(args[0], buf.Bytes()); err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import template: %v\n", err)
		return exitOperational
	}
	fmt.Fprintf(e.stdout, msg(lang, "Skrev malen %s. Fyll inn én vaksinasjon per rad på arket «Vaksinasjoner»; se arket «Veiledning».\n",
		"Wrote the template %s. Enter one vaccination per row on the sheet \"Vaksinasjoner\"; see the sheet \"Veiledning\".\n"), args[0])
	return exitOK
}
