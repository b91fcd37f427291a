package fhir

import (
	"encoding/json"
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

// BenchmarkEncode compares the hand-written encoder with encoding/json on the same resource, in
// the same run (the machine's load moves absolute numbers; the ratio is what to read).
func BenchmarkEncode(b *testing.B) {
	m := Mapper{FileID: testFileID, Recorded: recorded, Codes: validate.DefaultCodes()}
	im, err := m.Map(&mappingCases[0].rec)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var line []byte
		for i := 0; i < b.N; i++ {
			line = im.AppendJSON(line[:0])
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(&im); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Map", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := m.Map(&mappingCases[0].rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
