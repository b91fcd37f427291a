package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/fhi/sysvak-import/validate"
)

type codesFlags struct {
	config, codes, format, lang string
}

func codesCmd() *command {
	return &command{
		name:    "codes",
		summary: "Print the SYSVAK code list in use (code, name, ATC, valid from/to).",
		usage:   "",
		examples: []string{
			"sysvak-import codes",
			"sysvak-import codes --codes volven-9501.csv --format json",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &codesFlags{}
			fs.StringVar(&o.config, "config", "", "TOML config file")
			fs.StringVar(&o.codes, "codes", "", "CSV file replacing the built-in list (code,name,atc,valid_from,valid_to)")
			fs.StringVar(&o.format, "format", "text", "text or json")
			fs.StringVar(&o.lang, "lang", "nb", "language of the headings: nb or en")
			return o
		},
		run: runCodes,
	}
}

func runCodes(_ context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*codesFlags)
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "sysvak-import codes: "+msg(o.lang, "tar ingen argumenter (se -h)", "takes no arguments (see -h)"))
		return exitUsage
	}
	list, err := loadCodes(o.codes)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import codes: %v\n", err)
		return exitUsage
	}
	type jsonCode struct {
		Code      string `json:"code"`
		Name      string `json:"name"`
		ATC       string `json:"atc,omitempty"`
		ValidFrom string `json:"valid_from,omitempty"`
		ValidTo   string `json:"valid_to,omitempty"`
	}
	date := func(d validate.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	}
	switch lower(o.format) {
	case "json":
		out := struct {
			Partial bool       `json:"partial"`
			Codes   []jsonCode `json:"codes"`
		}{Partial: list.Partial(), Codes: []jsonCode{}}
		for _, c := range list.All() {
			out.Codes = append(out.Codes, jsonCode{c.Code, c.Name, c.ATC, date(c.ValidFrom), date(c.ValidTo)})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return exitOperational
		}
	case "text":
		h := []string{"KODE", "NAVN", "ATC", "GYLDIG FRA", "GYLDIG TIL"}
		note := "Innebygd liste (delvis): bruk --codes med den fullstendige lista fra Volven 9501."
		if lower(o.lang) == "en" {
			h = []string{"CODE", "NAME", "ATC", "VALID FROM", "VALID TO"}
			note = "Built-in list (partial): use --codes with the full Volven 9501 export."
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h[0], h[1], h[2], h[3], h[4])
		for _, c := range list.All() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Code, c.Name, c.ATC, date(c.ValidFrom), date(c.ValidTo))
		}
		tw.Flush()
		if list.Partial() {
			fmt.Fprintln(e.stdout, "\n"+note)
		}
	default:
		fmt.Fprintf(e.stderr, "sysvak-import codes: --format must be text or json\n")
		return exitUsage
	}
	return exitOK
}
