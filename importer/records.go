package importer

import (
	"strconv"

	"github.com/fhi/sysvak-import/internal/jsonenc"
	"github.com/fhi/sysvak-import/validate"
)

// appendRecord appends one records.jsonl line (SPEC 5) for a registered row. It is hand-written
// rather than encoding/json so that the hot path allocates nothing per row.
func appendRecord(b []byte, fileID string, r *validate.Record) []byte {
	b = append(b, `{"file_id":`...)
	b = appendJSONString(b, fileID)
	b = append(b, `,"row":`...)
	b = strconv.AppendInt(b, int64(r.Row), 10)
	b = append(b, `,"person_id":`...)
	b = appendJSONString(b, r.PersonID)
	b = append(b, `,"person_id_type":`...)
	b = appendJSONString(b, string(r.PersonIDType))
	b = append(b, `,"vaccination_date":"`...)
	b = appendISODate(b, r.VaccinationDate)
	b = append(b, `","sysvak_code":`...)
	b = appendJSONString(b, r.SysvakCode)
	b = appendOptString(b, "name", r.Name)
	if r.Dose > 0 {
		b = append(b, `,"dose":`...)
		b = strconv.AppendInt(b, int64(r.Dose), 10)
	}
	b = appendOptString(b, "batch", r.Batch)
	b = appendOptString(b, "vaccinator_hpr", r.VaccinatorHPR)
	b = appendOptString(b, "unit_id", r.UnitID)
	b = appendOptString(b, "municipality", r.Municipality)
	if r.GivenElsewhere != nil {
		b = append(b, `,"given_elsewhere":`...)
		b = strconv.AppendBool(b, *r.GivenElsewhere)
	}
	b = appendOptString(b, "comment", r.Comment)
	b = append(b, `,"action":`...)
	b = appendJSONString(b, string(r.Action))
	return append(b, "}\n"...)
}

func appendOptString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

// appendISODate appends YYYY-MM-DD.
func appendISODate(b []byte, d validate.Date) []byte {
	y := d.Year
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	m := int(d.Month)
	b = append(b, byte('0'+m/10), byte('0'+m%10), '-')
	return append(b, byte('0'+d.Day/10), byte('0'+d.Day%10))
}

// appendJSONString appends s as a JSON string, byte for byte as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }
