#!/bin/sh
# make bench (issues 6 and 17): speed and memory of `validate` and `import`.
#
# 0. Issue 17's four ratios in one table (fastxlsx-bench -ratios, ratios.go): validate 1M rows
#    against `unzip -p` of its sheet and shared strings, import 1M rows (fresh state) against
#    validate, and 500 files of 100 rows against one file of the same 50,000 rows, for validate
#    and for import; each pair interleaved, best of BENCH_RUNS, peak RSS. The machine this runs
#    on is often shared: compare the ratios, not the absolute times. BENCH_RATIOS=0 skips it.
#    What the numbers rest on (profiles, strace): docs/performance.md.
#
# 1. Generates once, cached in .bench/ (gitignored), bench workbooks of 10k, 100k and 1M valid
#    rows x 11 columns in inline-string and shared-string form (fixturegen.BenchFile).
# 2. Measures the built binary end to end, `bin/sysvak-import validate --format json --as-of
#    2026-11-23 FILE`, each as a process of its own (wall time incl. process start, peak RSS
#    from rusage), against `unzip -p FILE xl/worksheets/sheet1.xml > /dev/null` timed in the
#    same run, and excelize's Rows() on the 1M-row shared-strings file (minutes the first time;
#    cached in .bench/, BENCH_EXCELIZE=always re-measures, =never skips). Prints a table and
#    the issue's targets.
# 3. Runs the `go test -bench` benchmarks (BENCH_GOTEST=0 skips them).
#
# Environment: GO (go), BIN (bin/sysvak-import, built by make build), BENCH_RATIOS (1),
# BENCH_SUITE (1: the issue 6 suite and go test benchmarks after the ratios), BENCH_SIZES
# (10000,100000,1000000), BENCH_RUNS (3), BENCH_EXCELIZE (auto), BENCH_GOTEST (1), PKGS (./...).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
BIN=${BIN:-bin/sysvak-import}
mkdir -p .bench
chmod 700 .bench
$GO build -o .bench/fastxlsx-bench ./importer/workbook/fastxlsx/cmd/fastxlsx-bench
if [ "${BENCH_RATIOS:-1}" != 0 ]; then
	.bench/fastxlsx-bench -ratios -bin "$BIN" -dir .bench -runs "${BENCH_RUNS:-3}"
fi
if [ "${BENCH_SUITE:-1}" = 0 ]; then
	exit 0
fi
.bench/fastxlsx-bench -suite -bin "$BIN" -dir .bench -sizes "${BENCH_SIZES:-10000,100000,1000000}" \
	-runs "${BENCH_RUNS:-3}" -excelize "${BENCH_EXCELIZE:-auto}"
if [ "${BENCH_GOTEST:-1}" != 0 ]; then
	echo
	echo "== go test -bench (${PKGS:-./...}) =="
	# shellcheck disable=SC2086 # PKGS is a list of packages
	$GO test -run '^$' -bench . -benchmem ${PKGS:-./...}
fi
