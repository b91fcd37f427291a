package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

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
