package validate

// Column identifies one column of filimport layout v1 (filimport-columns.md "Columns").
type Column uint8

// The columns, in the order the template writes them.
const (
	ColPersonID Column = iota
	ColName
	ColVaccinationDate
	ColSysvakCode
	ColDose
	ColBatch
	ColVaccinatorHPR
	ColUnitID
	ColMunicipality
	ColGivenElsewhere
	ColAction
	ColComment
	NumColumns // number of columns; not a column
)

// ColumnSpec describes one column: its key (used in code, records and reports), the header the
// template writes, the other header names accepted, and whether it is required.
type ColumnSpec struct {
	Column   Column
	Key      string
	Header   string   // written by `template`
	Synonyms []string // also accepted (matched with NormalizeHeader)
	Required bool
	// Recommended columns give a warning when blank (batch.missing, vaccinator.missing).
	Recommended bool
}

// Layout returns the columns of layout v1 in template order. The slice is freshly built on each
// call so that callers cannot change shared state.
func Layout() []ColumnSpec {
	return []ColumnSpec{
		{ColPersonID, "person_id", "Fødselsnummer", []string{"Fnr", "Fødselsnr", "Personnummer", "Fødsels- eller D-nummer", "D-nummer", "DUF-nummer", "Identifikasjonsnummer", "ID-nummer"}, true, false},
		{ColName, "name", "Navn", []string{"Fullt navn", "Pasient", "Vaksinand"}, false, false},
		{ColVaccinationDate, "vaccination_date", "Vaksinasjonsdato", []string{"Dato", "Vaksinedato", "Dato for vaksinasjon", "Konsultasjonsdato"}, true, false},
		{ColSysvakCode, "sysvak_code", "Vaksinekode", []string{"SYSVAK-kode", "SYSVAKkode", "Vaksine", "Kode"}, true, false},
		{ColDose, "dose", "Dosenummer", []string{"Dose", "Dose nr"}, false, false},
		{ColBatch, "batch", "Batchnummer", []string{"Batch", "Lotnummer", "Lot", "Batch/lot"}, false, true},
		{ColVaccinatorHPR, "vaccinator_hpr", "Vaksinatør HPR-nummer", []string{"HPR", "HPR-nummer", "Vaksinatør"}, false, true},
		{ColUnitID, "unit_id", "Helseenhet", []string{"Organisasjonsnummer", "Org.nr", "HER-id", "Helseenhet id"}, false, false},
		{ColMunicipality, "municipality", "Kommunenummer", []string{"Kommune", "Kommunenr"}, false, false},
		{ColGivenElsewhere, "given_elsewhere", "Gitt annet sted", []string{"Etterregistrering", "Vaksinert i utlandet", "Ikke gitt på stedet"}, false, false},
		{ColAction, "action", "Handling", []string{"Melding", "Type"}, false, false},
		{ColComment, "comment", "Merknad", []string{"Kommentar", "Notat"}, false, false},
	}
}

var columnKeys = [NumColumns]string{"person_id", "name", "vaccination_date", "sysvak_code", "dose", "batch", "vaccinator_hpr", "unit_id", "municipality", "given_elsewhere", "action", "comment"}

// Key returns the column key (for example "person_id"), or "" for an out-of-range value.
func (c Column) Key() string {
	if c < NumColumns {
		return columnKeys[c]
	}
	return ""
}

// String returns the key.
func (c Column) String() string { return c.Key() }

// ColumnByKey returns the column with the given key.
func ColumnByKey(key string) (Column, bool) {
	for i, k := range columnKeys {
		if k == key {
			return Column(i), true
		}
	}
	return 0, false
}
