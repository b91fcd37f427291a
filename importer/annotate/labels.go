package annotate

import "github.com/fhi/sysvak-import/validate"

// labels are the fixed words the annotated copy adds, in one language.
type labels struct {
	status, rejected, warning string
	errorWord, warningWord    string
	none                      string
	more                      string    // "%d more findings" when Funn is full
	columns                   [6]string // the Funn sheet's header row
}

var labelsNB = labels{
	status:      "Status",
	rejected:    "Avvist",
	warning:     "Advarsel",
	errorWord:   "Feil",
	warningWord: "Advarsel",
	none:        "Ingen funn: fila er i orden.",
	more:        "... og %d funn til (se rapporten).",
	columns:     [6]string{"Rad", "Kolonne", "Celle", "Kode", "Alvorlighet", "Melding"},
}

var labelsEN = labels{
	status:      "Status",
	rejected:    "Rejected",
	warning:     "Warning",
	errorWord:   "Error",
	warningWord: "Warning",
	none:        "No findings: the file is in order.",
	more:        "... and %d more findings (see the report).",
	columns:     [6]string{"Row", "Column", "Cell", "Code", "Severity", "Message"},
}

func (l labels) severity(s validate.Severity) string {
	if s == validate.SeverityError {
		return l.errorWord
	}
	return l.warningWord
}
