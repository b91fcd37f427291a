#!/bin/sh
# Re-saves some fixtures with LibreOffice Calc (a third xlsx writer, with its own shared strings,
# styles and row attributes) for TestDifferentialLibreOffice. Needs soffice at make time only;
# the outputs are committed. Run from this folder: ./make.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
files=$(cd "$here/../../../../../fixtures/files" && pwd)
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
soffice -env:UserInstallation="file://$profile" --headless --convert-to xlsx --outdir "$here" \
	"$files/clean.xlsx" "$files/row-errors.xlsx" "$files/numeric-1904.xlsx" "$files/synonyms-title.xlsx"
