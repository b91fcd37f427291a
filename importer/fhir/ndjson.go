package fhir

import (
	"bufio"
	"fmt"
	"io"

	"github.com/fhi/sysvak-import/validate"
)

// Writer streams Immunization resources as NDJSON (one resource per line, in the order the
// records are written), through a buffer; call Flush at the end.
type Writer struct {
	m    Mapper
	bw   *bufio.Writer
	line []byte
	n    int
}

// NewWriter returns a Writer mapping records with m into w. A nil m.Codes is the built-in list.
func NewWriter(w io.Writer, m Mapper) *Writer {
	if m.Codes == nil {
		m.Codes = validate.DefaultCodes()
	}
	return &Writer{m: m, bw: bufio.NewWriterSize(w, 256<<10), line: make([]byte, 0, 2048)}
}

// Write appends the resource of one registered record as one line.
func (w *Writer) Write(rec *validate.Record) error {
	im, err := w.m.Map(rec)
	if err != nil {
		return err
	}
	w.line = append(im.AppendJSON(w.line[:0]), '\n')
	if _, err := w.bw.Write(w.line); err != nil {
		return fmt.Errorf("fhir: write: %w", err)
	}
	w.n++
	return nil
}

// Count is the number of resources written so far.
func (w *Writer) Count() int { return w.n }

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("fhir: write: %w", err)
	}
	return nil
}
