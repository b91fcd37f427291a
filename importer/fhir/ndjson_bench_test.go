package fhir

import (
	"io"
	"testing"

	"github.com/fhi/sysvak-import/validate"
)

// BenchmarkWriter measures one resource written to the NDJSON stream (per row cost of --fhir),
// for a row with every column and for a row with the required columns only.
func BenchmarkWriter(b *testing.B) {
	for _, c := range []struct {
		name string
		rec  validate.Record
	}{{"full", mappingCases[0].rec}, {"minimal", mappingCases[1].rec}} {
		b.Run(c.name, func(b *testing.B) {
			w := NewWriter(io.Discard, Mapper{FileID: testFileID, Recorded: recorded})
			rec := c.rec
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rec.Row = i + 2
				if err := w.Write(&rec); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
