package importer

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer/report"
)

var received = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// ValidateFiles gives each file the report Validate gives it, in the order of the inputs,
// whatever the number of workers; an error of emit stops the run.
func TestValidateFilesInOrder(t *testing.T) {
	paths, err := filepath.Glob("../fixtures/files/*")
	if err != nil || len(paths) < 5 {
		t.Fatalf("fixtures: %v %v", paths, err)
	}
	o, err := testOptions(zerolog.Nop()).Prepare()
	if err != nil {
		t.Fatal(err)
	}
	ins := make([]Input, len(paths))
	want := make([]string, len(paths))
	for i, p := range paths {
		// A fixed arrival time: without one a report says "received" now, to the second.
		ins[i] = Input{Path: p, Name: filepath.Base(p), Source: report.Source{Kind: "local", Received: received}}
		rep, err := Validate(context.Background(), ins[i], o)
		want[i] = reportJSON(t, rep, err)
	}
	for _, workers := range []int{1, 2, 4, 16} {
		var got []string
		err := ValidateFiles(context.Background(), ins, o, workers, func(i int, rep *report.Report, err error) error {
			if i != len(got) {
				t.Fatalf("workers %d: result %d given after %d", workers, i, len(got))
			}
			got = append(got, reportJSON(t, rep, err))
			return nil
		})
		if err != nil || len(got) != len(want) {
			t.Fatalf("workers %d: %v, %d results", workers, err, len(got))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("workers %d, %s: differs from Validate's report:\n%s\n%s", workers, filepath.Base(paths[i]), got[i], want[i])
			}
		}
	}
	stop := errors.New("stop")
	n := 0
	err = ValidateFiles(context.Background(), ins, o, 2, func(int, *report.Report, error) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("emit's error: %v after %d results", err, n)
	}
}

func reportJSON(t *testing.T, rep *report.Report, err error) string {
	t.Helper()
	if err != nil {
		return "error: " + err.Error()
	}
	b, jerr := json.Marshal(rep)
	if jerr != nil {
		t.Fatal(jerr)
	}
	return string(b)
}
