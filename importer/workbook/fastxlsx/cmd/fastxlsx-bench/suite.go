package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
)

// The suite (make bench, issue 6): for each cached bench workbook it runs the built binary's
// `validate --format json --as-of 2026-11-23 FILE` as a process of its own (wall time from
// exec to exit, process start included; peak RSS from the child's rusage) and, in the same
// run, `unzip -p FILE xl/worksheets/sheet1.xml > /dev/null`, best of -runs each. For the
// 1M-row shared-strings file it adds excelize's own streaming Rows() + Columns(RawCellValue)
// in a process of its own (minutes; the result is cached in the bench folder), and checks the
// targets of issue 6.

type suiteConfig struct {
	bin      string
	dir      string
	sizes    []int
	runs     int
	asOf     string
	excelize string // "auto" (cached, else measure), "always", "never"
	self     string // this program, to run the excelize measurement in its own process
}

type measure struct {
	wall time.Duration
	rss  int64 // KiB
}

type suiteRow struct {
	form   fixturegen.BenchForm
	rows   int
	file   string
	size   int64
	unzip  measure
	valid  measure
	parsed int // stats.rows of the report
}

func runSuite(c suiteConfig) error {
	if _, err := os.Stat(c.bin); err != nil {
		return fmt.Errorf("the binary to measure: %w (run make build)", err)
	}
	unzip, err := exec.LookPath("unzip")
	if err != nil {
		return errors.New("unzip is not installed (apt-get install -y unzip): it is the yardstick")
	}
	var rows []suiteRow
	for _, form := range []fixturegen.BenchForm{fixturegen.BenchInline, fixturegen.BenchSST} {
		for _, n := range c.sizes {
			start := time.Now()
			path, err := fixturegen.BenchFile(c.dir, n, form)
			if err != nil {
				return err
			}
			if d := time.Since(start); d > time.Second {
				fmt.Fprintf(os.Stderr, "generated %s in %.1fs\n", path, d.Seconds())
			}
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			r := suiteRow{form: form, rows: n, file: path, size: st.Size()}
			for i := 0; i < c.runs; i++ {
				// Interleaved, so that both see the same machine load.
				u, _, err := runProc(unzip, "-p", path, "xl/worksheets/sheet1.xml")
				if err != nil {
					return fmt.Errorf("unzip -p %s: %w", path, err)
				}
				v, out, err := runProc(c.bin, "validate", "--format", "json", "--as-of", c.asOf, path)
				if err != nil {
					return fmt.Errorf("%s validate %s: %w", c.bin, path, err)
				}
				if r.parsed, err = reportRows(out); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				if r.parsed != n {
					return fmt.Errorf("%s: the report has %d rows, want %d", path, r.parsed, n)
				}
				r.unzip, r.valid = best(r.unzip, u), best(r.valid, v)
			}
			rows = append(rows, r)
			fmt.Fprintf(os.Stderr, "measured %s\n", filepath.Base(path))
		}
	}

	fmt.Printf("\nvalidate end to end: %s validate --format json --as-of %s FILE (best of %d; peak RSS = max)\n\n", c.bin, c.asOf, c.runs)
	fmt.Printf("| form   |      rows | file MB | unzip -p s | validate s |     rows/s | x unzip | peak RSS MB |\n")
	fmt.Printf("|--------|-----------|---------|------------|------------|------------|---------|-------------|\n")
	for _, r := range rows {
		fmt.Printf("| %-6s | %9d | %7.1f | %10.3f | %10.3f | %10.0f | %7.2f | %11.1f |\n", r.form, r.rows,
			float64(r.size)/(1<<20), r.unzip.wall.Seconds(), r.valid.wall.Seconds(),
			float64(r.rows)/r.valid.wall.Seconds(), r.valid.wall.Seconds()/r.unzip.wall.Seconds(), float64(r.valid.rss)/1024)
	}

	var sst1M *suiteRow
	for i := range rows {
		if rows[i].form == fixturegen.BenchSST && rows[i].rows == 1_000_000 {
			sst1M = &rows[i]
		}
	}
	var ex *excelizeResult
	if sst1M != nil && c.excelize != "never" {
		ex, err = excelizeTime(c, sst1M.file)
		if err != nil {
			return err
		}
		fmt.Printf("\nexcelize Rows()+Columns(RawCellValue) on %s: %.1f s, peak RSS %.0f MB%s; validate is %.1fx faster\n",
			filepath.Base(sst1M.file), ex.Wall, float64(ex.RSS)/1024, ex.note, ex.Wall/sst1M.valid.wall.Seconds())
	}

	fmt.Printf("\ntargets (issue 6):\n")
	check := func(ok bool, what string) {
		mark := "ok  "
		if !ok {
			mark = "MISS"
		}
		fmt.Printf("  %s %s\n", mark, what)
	}
	for _, r := range rows {
		switch {
		case r.rows == 10_000:
			check(r.valid.wall < 500*time.Millisecond, fmt.Sprintf("%s 10k rows under 0.5 s wall: %.3f s", r.form, r.valid.wall.Seconds()))
		case r.rows == 1_000_000:
			check(r.valid.rss < 150*1024, fmt.Sprintf("%s 1M rows peak RSS under 150 MB: %.1f MB", r.form, float64(r.valid.rss)/1024))
		}
	}
	if sst1M != nil {
		x := sst1M.valid.wall.Seconds() / sst1M.unzip.wall.Seconds()
		check(x <= 4, fmt.Sprintf("sst 1M validate at most 4x unzip -p: %.2fx", x))
		if ex != nil {
			f := ex.Wall / sst1M.valid.wall.Seconds()
			check(f >= 5, fmt.Sprintf("sst 1M validate at least 5x faster than excelize Rows(): %.1fx", f))
		}
	}
	return nil
}

func best(a, b measure) measure {
	out := a
	if a.wall == 0 || b.wall < a.wall {
		out.wall = b.wall
	}
	out.rss = max(a.rss, b.rss)
	return out
}

// runProc runs a program with stdout captured (or discarded for unzip) and returns its wall
// time and peak RSS (rusage of the child, KiB on Linux).
func runProc(name string, args ...string) (measure, []byte, error) {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	if filepath.Base(name) != "unzip" {
		cmd.Stdout = &out
	} // else nil: /dev/null
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measure{}, nil, fmt.Errorf("%w: %s", err, tail(stderr.String()))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return measure{wall: wall, rss: rss}, out.Bytes(), nil
}

func tail(s string) string {
	if len(s) > 400 {
		return "..." + s[len(s)-400:]
	}
	return s
}

func reportRows(out []byte) (int, error) {
	var rep struct {
		Status string `json:"status"`
		Stats  struct {
			Rows int `json:"rows"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, fmt.Errorf("reading the JSON report: %w", err)
	}
	if rep.Status != "accepted" {
		return 0, fmt.Errorf("status %q, want accepted", rep.Status)
	}
	return rep.Stats.Rows, nil
}

type excelizeResult struct {
	Wall float64 `json:"wall_s"`
	RSS  int64   `json:"peak_rss_kb"`
	Rows int     `json:"rows"`
	note string
}

// excelizeTime measures excelize on path in a process of its own, or reads the cached result
// (a file next to the workbook, for the same workbook name).
func excelizeTime(c suiteConfig, path string) (*excelizeResult, error) {
	cache := strings.TrimSuffix(path, ".xlsx") + ".excelize.json"
	if c.excelize == "auto" {
		if data, err := os.ReadFile(cache); err == nil {
			var r excelizeResult
			if json.Unmarshal(data, &r) == nil && r.Wall > 0 {
				r.note = " (cached in " + filepath.Base(cache) + "; BENCH_EXCELIZE=always re-measures)"
				return &r, nil
			}
		}
	}
	fmt.Fprintf(os.Stderr, "measuring excelize Rows() on %s (takes a minute or more) ...\n", filepath.Base(path))
	m, out, err := runProc(c.self, "-reader", "excelize-raw", path)
	if err != nil {
		return nil, fmt.Errorf("excelize on %s: %w", path, err)
	}
	r := &excelizeResult{Wall: m.wall.Seconds(), RSS: m.rss}
	for _, kv := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(kv, "rows="); ok {
			r.Rows, _ = strconv.Atoi(v)
		}
	}
	data, _ := json.Marshal(r)
	if err := os.WriteFile(cache, data, 0o600); err != nil {
		return nil, err
	}
	return r, nil
}

// excelizeRaw reads the first sheet with excelize alone, as issue 6 measured it: OpenReader,
// Rows, Columns(RawCellValue) per row. No prescan, no wrapper.
func excelizeRaw(path string) (rows, cells int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	x, err := excelize.OpenReader(f, excelize.Options{RawCellValue: true})
	if err != nil {
		return 0, 0, err
	}
	defer x.Close()
	it, err := x.Rows(x.GetSheetList()[0])
	if err != nil {
		return 0, 0, err
	}
	defer it.Close()
	for it.Next() {
		cols, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return 0, 0, err
		}
		if len(cols) > 0 {
			rows++
			cells += len(cols)
		}
	}
	return rows, cells, it.Error()
}
