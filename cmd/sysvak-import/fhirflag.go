package main

import "flag"

// addFHIRFlag adds --fhir (SPEC 12) to a command that writes output sets (import, poll, unlock,
// serve): importer.Options.FHIR.
func addFHIRFlag(fs *flag.FlagSet, p *bool) {
	fs.BoolVar(p, "fhir", false, "also write OUT/<file-id>/immunizations.ndjson: one FHIR R4 Immunization per record (docs/fhir.md)")
}
