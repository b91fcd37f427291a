package fhir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/fhi/sysvak-import/validate"
)

// Writer streams Immunization resources as NDJSON (one resource per line, in the order the
// records are written), through a buffer; call Flush at the end.
type Writer struct {
	m   Mapper
	bw  *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder
	n   int
}

// NewWriter returns a Writer mapping records with m into w. A nil m.Codes is the built-in list.
func NewWriter(w io.Writer, m Mapper) *Writer {
	if m.Codes == nil {
		m.Codes = validate.DefaultCodes()
	}
	wr := &Writer{m: m, bw: bufio.NewWriterSize(w, 256<<10)}
	wr.enc = json.NewEncoder(&wr.buf)
	return wr
}

// Write appends the resource of one registered record as one line.
func (w *Writer) Write(rec *validate.Record) error {
	im, err := w.m.Map(rec)
	if err != nil {
		return err
	}
	w.buf.Reset()
	if err := w.enc.Encode(&im); err != nil { // Encode ends the line with '\n'
		return fmt.Errorf("fhir: encode row %d: %w", rec.Row, err)
	}
	if _, err := w.bw.Write(w.buf.Bytes()); err != nil {
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
