package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
)

// printReport writes a report on stdout in the chosen format.
func printReport(w io.Writer, rep *report.Report, format, lang string) error {
	if format == "json" {
		return writeJSONLine(w, rep)
	}
	if err := rep.WriteText(w, lang); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// writeReportSet writes DIR/<file-id>/report.json and report.txt atomically.
func writeReportSet(dir string, rep *report.Report, lang string) error {
	set, err := outdir.Begin(dir, rep.FileID)
	if err != nil {
		return err
	}
	defer set.Abort()
	jf, err := set.Create(importer.ReportJSONFile)
	if err != nil {
		return err
	}
	if err := writeJSONLine(jf, rep); err != nil {
		return err
	}
	tf, err := set.Create(importer.ReportTextFile)
	if err != nil {
		return err
	}
	if err := rep.WriteText(tf, lang); err != nil {
		return err
	}
	return set.Commit()
}

// errWithoutPath drops the path from an *os.PathError: callers name the file by its base name.
func errWithoutPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func msg(lang, nb, en string) string {
	if lang == "en" {
		return en
	}
	return nb
}
