// Package fhir owns the FHIR R4 form of the records (SPEC 12): one Immunization resource per
// registered row, mapped from a checked record, and the streaming NDJSON writer that puts them
// into OUT/<file-id>/immunizations.ndjson beside records.jsonl.
//
// The structs are hand-written and hold only the elements SPEC 12 writes, each with omitempty:
// the maintained FHIR model modules for Go are large or unmaintained, and a focused set keeps the
// output exactly the mapping table. Free text (name, comment) never reaches a resource.
package fhir

// Identifier systems and code systems of SPEC 12 (HL7 Norway no-basis naming systems; Volven;
// WHO ATC; HL7 v2 table 0443 for the performer function).
const (
	SystemRow          = "urn:sysvak-import:row"
	SystemSysvakCode   = "urn:oid:2.16.578.1.12.4.1.1.9501"
	SystemATC          = "http://www.whocc.no/atc"
	SystemFnr          = "urn:oid:2.16.578.1.12.4.1.4.1"
	SystemDnr          = "urn:oid:2.16.578.1.12.4.1.4.2"
	SystemDUF          = "urn:oid:2.16.578.1.12.4.1.4.5"
	SystemHPR          = "urn:oid:2.16.578.1.12.4.1.4.4"
	SystemOrgNr        = "urn:oid:2.16.578.1.12.4.1.4.101"
	SystemHERID        = "urn:oid:2.16.578.1.12.4.1.2"
	SystemPerformerFn  = "http://terminology.hl7.org/CodeSystem/v2-0443"
	FunctionVaccinator = "AP" // Administering Provider
	FunctionUnit       = "OP" // Ordering Provider
)

// Status values of Immunization.status that we write.
const (
	StatusCompleted      = "completed"
	StatusEnteredInError = "entered-in-error"
)

// Immunization is the part of the R4 Immunization resource that SPEC 12 writes, in the element
// order of the specification (so the JSON reads in the order of the FHIR tables).
type Immunization struct {
	ResourceType       string            `json:"resourceType"`
	Identifier         []Identifier      `json:"identifier,omitempty"`
	Status             string            `json:"status"`
	VaccineCode        CodeableConcept   `json:"vaccineCode"`
	Patient            Reference         `json:"patient"`
	OccurrenceDateTime string            `json:"occurrenceDateTime"`
	Recorded           string            `json:"recorded,omitempty"`
	PrimarySource      *bool             `json:"primarySource,omitempty"`
	Location           *Reference        `json:"location,omitempty"`
	LotNumber          string            `json:"lotNumber,omitempty"`
	Performer          []Performer       `json:"performer,omitempty"`
	ProtocolApplied    []ProtocolApplied `json:"protocolApplied,omitempty"`
}

// Identifier is the FHIR Identifier data type (system and value only).
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Coding is the FHIR Coding data type.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is the FHIR CodeableConcept data type (codings only).
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
}

// Reference is the FHIR Reference data type as a logical reference: an identifier or a display,
// never a literal URL (the records do not know the receiving server's resource ids).
type Reference struct {
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Performer is Immunization.performer.
type Performer struct {
	Function *CodeableConcept `json:"function,omitempty"`
	Actor    Reference        `json:"actor"`
}

// ProtocolApplied is Immunization.protocolApplied with the dose number only.
type ProtocolApplied struct {
	DoseNumberPositiveInt int `json:"doseNumberPositiveInt"`
}
