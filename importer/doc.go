// Package importer runs one file through the pipeline of SPEC 1-5: unwrap (decrypt) → read rows
// (workbook) → check (validate) → dedup (within the file, and against the ledger) → outputs
// (records.jsonl, report.json, report.txt in OUT/<file-id>/, written atomically).
//
// Order of the durable steps, chosen so that every crash point is safe: records are written to a
// temporary output set while the rows stream; then the ledger commits the file's keys (owned by
// its file id); then the output set is renamed into place; then the file is marked done in the
// ledger. A crash before the ledger commit leaves nothing; a crash after it leaves keys owned by
// the file, and processing the file again yields exactly the same records (an entry owned by the
// same file id is its own, not a duplicate).
package importer
