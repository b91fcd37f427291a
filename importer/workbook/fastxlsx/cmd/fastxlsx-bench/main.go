// Command fastxlsx-bench measures the workbook readers and the built binary (issue 6).
//
//	fastxlsx-bench -suite [-bin bin/sysvak-import] [-dir .bench] [-sizes 10000,100000,1000000] [-runs 3]
//	fastxlsx-bench -gen -rows 1000000 -form sst -out FILE
//	fastxlsx-bench -reader fast|fallback|excelize|excelize-raw|inflate FILE
//
// -suite is what `make bench` runs (scripts/bench.sh): it generates the bench workbooks once
// (fixturegen.BenchFile, cached in -dir), measures `validate` end to end against `unzip -p`, and
// excelize on the 1M-row shared-strings file (suite.go). -reader measures one reader on one file
// in its own process, so that peak RSS (VmHWM) belongs to that reader alone; output is one line
// of key=value pairs. "excelize" is workbook.OpenExcelize (with its prescan), "excelize-raw" is
// excelize's own Rows()+Columns(RawCellValue), "inflate" only decompresses the first sheet with
// archive/zip (Go's counterpart of unzip -p).
package main

import (
	"archive/zip"
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/importer/workbook/fastxlsx"
)

func main() {
	reader := flag.String("reader", "fast", "fast, fallback, excelize, excelize-raw or inflate")
	gen := flag.Bool("gen", false, "generate a bench workbook instead of reading one")
	rows := flag.Int("rows", 10000, "rows to generate")
	form := flag.String("form", "sst", "inline or sst")
	out := flag.String("out", "", "output path for -gen")
	suite := flag.Bool("suite", false, "run the end-to-end suite (make bench)")
	bin := flag.String("bin", "bin/sysvak-import", "-suite: the binary to measure")
	dir := flag.String("dir", ".bench", "-suite: where the bench workbooks are cached")
	sizes := flag.String("sizes", "10000,100000,1000000", "-suite: row counts")
	runs := flag.Int("runs", 3, "-suite: runs per file (best wall time is reported)")
	asOf := flag.String("as-of", "2026-11-23", "-suite: validate --as-of")
	exMode := flag.String("excelize", "auto", "-suite: excelize on the 1M shared-strings file: auto (cached), always, never")
	ratios := flag.Bool("ratios", false, "run issue 17's four ratios (validate/unzip, import/validate, 500 small/1 big for validate and import)")
	flag.Parse()
	if *ratios {
		if err := runRatios(suiteConfig{bin: *bin, dir: *dir, runs: max(*runs, 1), asOf: *asOf}); err != nil {
			fmt.Fprintln(os.Stderr, "fastxlsx-bench:", err)
			os.Exit(1)
		}
		return
	}
	if *suite {
		c := suiteConfig{bin: *bin, dir: *dir, runs: max(*runs, 1), asOf: *asOf, excelize: *exMode}
		for _, s := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				fmt.Fprintf(os.Stderr, "fastxlsx-bench: bad -sizes entry %q\n", s)
				os.Exit(2)
			}
			c.sizes = append(c.sizes, n)
		}
		self, err := os.Executable()
		if err == nil {
			c.self = self
			err = runSuite(c)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fastxlsx-bench:", err)
			os.Exit(1)
		}
		return
	}
	if *gen {
		if err := generate(*out, *rows, fixturegen.BenchForm(*form)); err != nil {
			fmt.Fprintln(os.Stderr, "fastxlsx-bench:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: fastxlsx-bench -reader fast|fallback|excelize|inflate FILE")
		os.Exit(2)
	}
	start := time.Now()
	n, cells, err := run(*reader, flag.Arg(0))
	wall := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fastxlsx-bench:", err)
		os.Exit(1)
	}
	fmt.Printf("reader=%s file=%s rows=%d cells=%d wall=%.3fs rows_per_s=%.0f ns_per_row=%.0f peak_rss_kb=%d\n",
		*reader, filepath.Base(flag.Arg(0)), n, cells, wall.Seconds(), float64(n)/wall.Seconds(),
		float64(wall.Nanoseconds())/float64(max(n, 1)), vmHWM())
}

func generate(out string, n int, form fixturegen.BenchForm) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".gen-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fixturegen.WriteBench(bw, n, form); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func run(reader, path string) (rows, cells int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	ctx := context.Background()
	switch reader {
	case "inflate":
		return inflate(f, st.Size())
	case "excelize-raw":
		return excelizeRaw(path)
	}
	var b workbook.Book
	switch reader {
	case "fast":
		b, err = fastxlsx.Open(ctx, f, st.Size(), fastxlsx.Options{})
	case "fallback":
		b, err = fastxlsx.OpenWithFallback(ctx, f, st.Size(), fastxlsx.Options{})
	case "excelize":
		b, err = workbook.OpenExcelize(ctx, f, st.Size(), workbook.Options{})
	default:
		return 0, 0, fmt.Errorf("unknown reader %q", reader)
	}
	if err != nil {
		return 0, 0, err
	}
	defer b.Close()
	it, err := b.Rows(ctx, b.Sheets()[0].Name)
	if err != nil {
		return 0, 0, err
	}
	defer it.Close()
	for it.Next() {
		rows++
		cells += len(it.Cells())
	}
	return rows, cells, it.Err()
}

func inflate(r io.ReaderAt, size int64) (int, int, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return 0, 0, err
	}
	for _, zf := range zr.File {
		if zf.Name == "xl/worksheets/sheet1.xml" {
			rc, err := zf.Open()
			if err != nil {
				return 0, 0, err
			}
			defer rc.Close()
			n, err := io.Copy(io.Discard, rc)
			return int(n), 0, err
		}
	}
	return 0, 0, fmt.Errorf("no xl/worksheets/sheet1.xml")
}

// vmHWM is this process's peak resident set size in KiB (Linux), 0 elsewhere.
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			return kb
		}
	}
	return 0
}
