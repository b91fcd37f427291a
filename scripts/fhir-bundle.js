#!/usr/bin/env node
// scripts/fhir-bundle.js [--size N] --out DIR FILE.ndjson...
//
// Turns the immunizations.ndjson files that `--fhir` writes into FHIR R4 transaction Bundles of
// conditional creates, for loading into any FHIR server (docs/fhir.md):
//
//   {"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:...",
//     "resource":{...Immunization...},
//     "request":{"method":"POST","url":"Immunization",
//                "ifNoneExist":"identifier=urn%3Asysvak-import%3Arow|<file-id>-<row>"}}, ...]}
//
// The identifier is stable (file id + row), so posting the same Bundle twice, or a file that was
// sent again, creates nothing twice: the server skips an entry whose identifier it already has.
// Writes DIR/bundle-00001.json, ... with at most N entries each (default 500), one JSON object per
// file on one line, and prints the file names. Needs only node (no npm packages).
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

function usage(msg) {
  process.stderr.write(`fhir-bundle: ${msg}\nusage: fhir-bundle.js [--size N] --out DIR FILE.ndjson...\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { size: 500, out: '', files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--size' || a === '--out') {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      const v = argv[++i];
      if (a === '--out') o.out = v;
      else if (!/^[1-9][0-9]*$/.test(v)) usage('--size must be a positive number');
      else o.size = Number(v);
    } else if (a.startsWith('-')) {
      usage(`unknown flag ${a}`);
    } else {
      o.files.push(a);
    }
  }
  if (!o.out) usage('--out DIR is required');
  if (o.files.length === 0) usage('no files');
  return o;
}

// entry is one conditional create: POST unless a resource with the same identifier exists.
function entry(res, where) {
  const id = (res.identifier || [])[0];
  if (!id || !id.system || !id.value) throw new Error(`${where}: resource without identifier[0]`);
  return {
    fullUrl: `urn:uuid:${crypto.randomUUID()}`,
    resource: res,
    request: {
      method: 'POST',
      url: res.resourceType,
      ifNoneExist: `identifier=${encodeURIComponent(id.system)}|${encodeURIComponent(id.value)}`,
    },
  };
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  fs.mkdirSync(o.out, { recursive: true, mode: 0o700 });
  let entries = [];
  let n = 0;
  const flush = () => {
    if (entries.length === 0) return;
    n++;
    const name = path.join(o.out, `bundle-${String(n).padStart(5, '0')}.json`);
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };
    // 0600: the resources carry ID numbers.
    fs.writeFileSync(name, JSON.stringify(bundle) + '\n', { mode: 0o600, flag: 'wx' });
    process.stdout.write(name + '\n');
    entries = [];
  };
  for (const file of o.files) {
    fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      entries.push(entry(JSON.parse(line), `${file}:${i + 1}`));
      if (entries.length === o.size) flush();
    });
  }
  flush();
}

try {
  main();
} catch (e) {
  process.stderr.write(`fhir-bundle: ${e.message}\n`);
  process.exit(1);
}
