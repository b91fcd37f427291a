package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
)

// The four ratios of issue 17, measured side by side in one run (each pair interleaved, best of
// -runs wall time, peak RSS the maximum): on a shared machine absolute times are noise, ratios
// of neighbours much less so.
//
//	validate 1M sst         vs  unzip -p FILE sheet1.xml sharedStrings.xml > /dev/null
//	import 1M (fresh state) vs  validate 1M
//	validate 500 x 100 rows vs  validate one file of the same 50,000 rows
//	import 500 x 100 rows   vs  import one file of the same 50,000 rows (fresh state each)

type ratio struct {
	work, yardstick string
	a, b            measure
	target          float64
	rssTarget       int64 // KiB, 0 = none
}

// runRatios measures the four ratios, keeping the best of c.runs rounds, and prints them.
func runRatios(c suiteConfig) error {
	unzip, err := exec.LookPath("unzip")
	if err != nil {
		return fmt.Errorf("unzip is not installed (apt-get install -y unzip): it is the yardstick")
	}
	files, err := makeRatioFiles(c.dir)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp(c.dir, "ratios-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	p := ratioProcs{c: c, work: work}
	rs := []*ratio{
		{work: "validate 1M rows (sst)", yardstick: "unzip -p sheet + sst", target: 1.25, rssTarget: 100 << 10},
		{work: "import 1M rows (fresh)", yardstick: "validate 1M rows", target: 2, rssTarget: 150 << 10},
		{work: "validate 500 x 100 rows", yardstick: "validate 1 x 50k rows", target: 2},
		{work: "import 500 x 100 rows", yardstick: "import 1 x 50k rows", target: 5},
	}
	steps := ratioSteps(unzip, files, p)
	for run := 0; run < c.runs; run++ {
		for i, step := range steps {
			a, b, err := step()
			if err != nil {
				return fmt.Errorf("%s: %w", rs[i].work, err)
			}
			rs[i].a, rs[i].b = best(rs[i].a, a), best(rs[i].b, b)
		}
		fmt.Fprintf(os.Stderr, "ratios: run %d of %d done\n", run+1, c.runs)
	}
	printRatios(rs, c.runs)
	return nil
}

// ratioFiles are the generated inputs: one file of 1M rows, 500 files of 100 rows and one
// file of the same 50,000 rows.
type ratioFiles struct {
	big, mid string
	small    []string
}

func makeRatioFiles(dir string) (f ratioFiles, err error) {
	if f.big, err = fixturegen.BenchFile(dir, 1_000_000, fixturegen.BenchSST); err != nil {
		return f, err
	}
	if f.small, err = fixturegen.BenchSmallFiles(dir, 500, 100, fixturegen.BenchSST); err != nil {
		return f, err
	}
	if f.mid, err = fixturegen.BenchFile(dir, 50_000, fixturegen.BenchSST); err != nil {
		return f, err
	}
	return f, nil
}

// ratioProcs runs the program under test; import gets a fresh state and output directory
// under work each time.
type ratioProcs struct {
	c    suiteConfig
	work string
}

func (p ratioProcs) validate(files ...string) (measure, error) {
	args := append([]string{"validate", "--format", "json", "--log-level", "warn", "--as-of", p.c.asOf}, files...)
	m, _, err := runProc(p.c.bin, args...)
	return m, err
}

func (p ratioProcs) imp(files ...string) (measure, error) {
	state, out := filepath.Join(p.work, "state"), filepath.Join(p.work, "out")
	os.RemoveAll(state)
	os.RemoveAll(out)
	args := append([]string{"import", "--state", state, "--out", out, "--format", "json", "--log-level", "warn", "--as-of", p.c.asOf}, files...)
	m, _, err := runProc(p.c.bin, args...)
	return m, err
}

// ratioSteps are the four pairs, in the order of the ratios: each measures the work, then
// its yardstick.
func ratioSteps(unzip string, f ratioFiles, p ratioProcs) []func() (measure, measure, error) {
	return []func() (measure, measure, error){
		func() (measure, measure, error) {
			u, _, err := runProc(unzip, "-p", f.big, "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml")
			if err != nil {
				return u, u, err
			}
			v, err := p.validate(f.big)
			return v, u, err
		},
		func() (measure, measure, error) {
			i, err := p.imp(f.big)
			if err != nil {
				return i, i, err
			}
			v, err := p.validate(f.big)
			return i, v, err
		},
		func() (measure, measure, error) {
			s, err := p.validate(f.small...)
			if err != nil {
				return s, s, err
			}
			m, err := p.validate(f.mid)
			return s, m, err
		},
		func() (measure, measure, error) {
			s, err := p.imp(f.small...)
			if err != nil {
				return s, s, err
			}
			m, err := p.imp(f.mid)
			return s, m, err
		},
	}
}

// printRatios prints the table of ratios, each against its target.
func printRatios(rs []*ratio, runs int) {
	fmt.Printf("\nissue 17: four ratios, best of %d wall times each, measured side by side (peak RSS = max)\n\n", runs)
	fmt.Printf("| work                     | s      | yardstick              | s      | ratio | target | peak RSS MB | ok   |\n")
	fmt.Printf("|--------------------------|--------|------------------------|--------|-------|--------|-------------|------|\n")
	for _, r := range rs {
		x := r.a.wall.Seconds() / r.b.wall.Seconds()
		ok := x <= r.target && (r.rssTarget == 0 || r.a.rss <= r.rssTarget)
		mark := "ok"
		if !ok {
			mark = "MISS"
		}
		rssT := ""
		if r.rssTarget > 0 {
			rssT = fmt.Sprintf(" (<=%d)", r.rssTarget>>10)
		}
		fmt.Printf("| %-24s | %6.2f | %-22s | %6.2f | %5.2f | <=%-4.2f | %6.0f%-5s | %-4s |\n", r.work, r.a.wall.Seconds(),
			r.yardstick, r.b.wall.Seconds(), x, r.target, float64(r.a.rss)/1024, rssT, mark)
	}
}
