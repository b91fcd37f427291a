package fhir

import (
	"strconv"

	"github.com/fhi/sysvak-import/internal/jsonenc"
)

// AppendJSON appends the resource as one JSON object, byte for byte what encoding/json writes for
// the struct (same element order, omitempty, escaping), without reflection: the NDJSON writer
// runs once per registered row (TestAppendJSONMatchesEncodingJSON holds the two together).
func (im *Immunization) AppendJSON(b []byte) []byte {
	b = append(b, `{"resourceType":`...)
	b = jsonenc.AppendString(b, im.ResourceType)
	if len(im.Identifier) > 0 {
		b = append(b, `,"identifier":[`...)
		for i := range im.Identifier {
			if i > 0 {
				b = append(b, ',')
			}
			b = im.Identifier[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"status":`...)
	b = jsonenc.AppendString(b, im.Status)
	b = append(b, `,"vaccineCode":`...)
	b = im.VaccineCode.appendJSON(b)
	b = append(b, `,"patient":`...)
	b = im.Patient.appendJSON(b)
	b = append(b, `,"occurrenceDateTime":`...)
	b = jsonenc.AppendString(b, im.OccurrenceDateTime)
	b = appendOpt(b, "recorded", im.Recorded)
	if im.PrimarySource != nil {
		b = append(b, `,"primarySource":`...)
		b = strconv.AppendBool(b, *im.PrimarySource)
	}
	if im.Location != nil {
		b = append(b, `,"location":`...)
		b = im.Location.appendJSON(b)
	}
	b = appendOpt(b, "lotNumber", im.LotNumber)
	if len(im.Performer) > 0 {
		b = append(b, `,"performer":[`...)
		for i, p := range im.Performer {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if p.Function != nil {
				b = append(b, `"function":`...)
				b = p.Function.appendJSON(b)
				b = append(b, ',')
			}
			b = append(b, `"actor":`...)
			b = p.Actor.appendJSON(b)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(im.ProtocolApplied) > 0 {
		b = append(b, `,"protocolApplied":[`...)
		for i, p := range im.ProtocolApplied {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"doseNumberPositiveInt":`...)
			b = strconv.AppendInt(b, int64(p.DoseNumberPositiveInt), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendOpt appends ,"key":"value" unless value is empty (omitempty after a first member).
func appendOpt(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return jsonenc.AppendString(b, value)
}

// appendObject appends an object of optional string members given as key, value pairs.
func appendObject(b []byte, kv ...string) []byte {
	b = append(b, '{')
	first := true
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, kv[i]...)
		b = append(b, '"', ':')
		b = jsonenc.AppendString(b, kv[i+1])
	}
	return append(b, '}')
}

func (id Identifier) appendJSON(b []byte) []byte {
	return appendObject(b, "system", id.System, "value", id.Value)
}

func (c Coding) appendJSON(b []byte) []byte {
	return appendObject(b, "system", c.System, "code", c.Code, "display", c.Display)
}

func (cc CodeableConcept) appendJSON(b []byte) []byte {
	if len(cc.Coding) == 0 {
		return append(b, '{', '}')
	}
	b = append(b, `{"coding":[`...)
	for i, c := range cc.Coding {
		if i > 0 {
			b = append(b, ',')
		}
		b = c.appendJSON(b)
	}
	return append(b, ']', '}')
}

func (r Reference) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if r.Identifier != nil {
		b = append(b, `"identifier":`...)
		b = r.Identifier.appendJSON(b)
		if r.Display != "" {
			b = append(b, ',')
		}
	}
	if r.Display != "" {
		b = append(b, `"display":`...)
		b = jsonenc.AppendString(b, r.Display)
	}
	return append(b, '}')
}
