package validate

import (
	"strings"
	"testing"
)

// TestCatalogComplete: every code has a message and a hint in both languages
// (validation-rules.md: messages in nb and en that say what is wrong and what to do).
func TestCatalogComplete(t *testing.T) {
	for _, code := range AllCodes() {
		for _, lang := range []string{LangNB, LangEN} {
			if messageFor(lang, string(code)) == "" {
				t.Errorf("%s: no %s message", code, lang)
			}
			if Hint(lang, code) == "" {
				t.Errorf("%s: no %s hint", code, lang)
			}
		}
		if messageNB(string(code)) == messageEN(string(code)) {
			t.Errorf("%s: nb and en are the same", code)
		}
	}
	for _, v := range []string{"id.checksum#duf", "id.format#ten"} {
		if messageNB(v) == "" || messageEN(v) == "" {
			t.Errorf("variant %s missing", v)
		}
	}
	if Hint("nb", "no.such") != "" {
		t.Error("hint for unknown code")
	}
}

func messageFor(lang, key string) string { return message(lang == LangEN, key) }

func TestLocalize(t *testing.T) {
	for _, tc := range []struct {
		name string
		lang string
		f    Finding
		want []string // substrings
		not  []string
	}{
		{"nb default", "", Finding{Column: "sysvak_code", Code: CodeUnknown, Value: "ZZZ99"}, []string{"«ZZZ99»", "kodelisten"}, nil},
		{"unknown lang is nb", "de", Finding{Column: "sysvak_code", Code: CodeUnknown, Value: "ZZZ99"}, []string{"kodelisten"}, nil},
		{"en", "en", Finding{Column: "sysvak_code", Code: CodeUnknown, Value: "ZZZ99"}, []string{"\"ZZZ99\"", "code list"}, nil},
		{"type nb", "nb", Finding{Column: "person_id", Code: IDTypeNotAllowed, Value: "014156*****", Args: Args{"type": "H-nummer"}}, []string{"et H-nummer", "DUF-nummer"}, []string{"014156"}},
		{"type en", "en", Finding{Column: "person_id", Code: IDTypeNotAllowed, Args: Args{"type": "felles hjelpenummer"}}, []string{"common auxiliary number"}, nil},
		{"synthetic", "nb", Finding{Column: "person_id", Code: IDSynthetic, Args: Args{"type": "Tenor"}}, []string{"Tenor"}, nil},
		{"DUF assumed nb", "nb", Finding{Column: "person_id", Code: IDChecksum, Args: Args{"kind": "duf"}}, []string{"antatt algoritme"}, nil},
		{"DUF assumed en", "en", Finding{Column: "person_id", Code: IDChecksum, Args: Args{"kind": "duf"}}, []string{"assumed algorithm"}, nil},
		{"fnr checksum", "nb", Finding{Column: "person_id", Code: IDChecksum, Value: "151086*****"}, []string{"Kontrollsifrene"}, []string{"antatt", "151086"}},
		{"ten digits", "nb", Finding{Column: "person_id", Code: IDFormat, Args: Args{"digits": "10"}}, []string{"10 siffer"}, nil},
		{"optional part present", "nb", Finding{Code: FileColumnMissing, Args: Args{"column": "Vaksinekode", "headers": "Navn, Dato"}}, []string{"«Vaksinekode» mangler (fant: Navn, Dato)."}, nil},
		{"optional part dropped", "en", Finding{Code: FileColumnMissing, Args: Args{"column": "Vaksinekode"}}, []string{"\"Vaksinekode\" is missing. Add"}, []string{"found", "[["}},
		{"row args", "nb", Finding{Code: RowDuplicate, Args: Args{"row": "12"}}, []string{"rad 12"}, nil},
		{"ledger", "en", Finding{Code: LedgerDuplicate, Args: Args{"file": "0123abcd", "row": "4"}}, []string{"from file 0123abcd, row 4"}, nil},
		{"inactive", "nb", Finding{Column: "sysvak_code", Code: CodeInactive, Value: "OLD01", Args: Args{"to": "2010-12-31"}}, []string{"OLD01", "(gyldig til 2010-12-31)"}, []string{"gyldig fra"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			Localize(tc.lang, &f)
			for _, s := range tc.want {
				if !strings.Contains(f.Message, s) {
					t.Errorf("message %q lacks %q", f.Message, s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(f.Message, s) {
					t.Errorf("message %q contains %q", f.Message, s)
				}
			}
			if strings.ContainsAny(f.Message, "{}") || strings.Contains(f.Message, "[[") {
				t.Errorf("unrendered template: %q", f.Message)
			}
		})
	}
}

// TestMessagesNeverShowID: a person_id finding's message never contains its value, even when a
// template would use {value}; every code renders without leftovers in both languages.
func TestMessagesNeverShowID(t *testing.T) {
	for _, code := range AllCodes() {
		for _, lang := range []string{LangNB, LangEN} {
			f := Finding{Column: "person_id", Code: code, Value: "15108695088", Args: Args{"kind": "duf", "digits": "10"}}
			Localize(lang, &f)
			if strings.Contains(f.Message, "151086") {
				t.Errorf("%s/%s shows the ID: %q", code, lang, f.Message)
			}
			g := Finding{Column: "batch", Code: code}
			Localize(lang, &g)
			if g.Message == "" || strings.ContainsAny(g.Message, "{}") || strings.Contains(g.Message, "[[") {
				t.Errorf("%s/%s: %q", code, lang, g.Message)
			}
		}
	}
	// An unknown code still gets a message.
	f := Finding{Code: "x.y"}
	Localize("en", &f)
	if f.Message == "" {
		t.Error("no fallback")
	}
}

// TestLocalizeCheckedRows: messages for real findings from Check, end to end.
func TestLocalizeCheckedRows(t *testing.T) {
	c := newTestChecker(t, Options{})
	row := validRow()
	row.Cells[ColPersonID] = "01415612385"
	row.Cells[ColVaccinationDate] = "01.01.2027"
	_, out := c.Check(&row, nil)
	if len(out) != 2 {
		t.Fatalf("%+v", out)
	}
	for i := range out {
		Localize("nb", &out[i])
	}
	if !strings.Contains(out[0].Message, "H-nummer") || strings.Contains(out[0].Message, "0141561") {
		t.Errorf("%q", out[0].Message)
	}
	if !strings.Contains(out[1].Message, "01.01.2027 er frem i tid (etter 23.11.2026)") {
		t.Errorf("%q", out[1].Message)
	}
}

// TestFileLevelMissingMessages: the once-per-file warnings for absent columns say so.
func TestFileLevelMissingMessages(t *testing.T) {
	var absent [NumColumns]bool
	absent[ColBatch], absent[ColVaccinatorHPR] = true, true
	fs := FileLevelMissing(absent)
	if len(fs) != 2 {
		t.Fatalf("%+v", fs)
	}
	for _, lang := range []string{"nb", "en"} {
		for i := range fs {
			Localize(lang, &fs[i])
			if fs[i].Row != 0 || fs[i].Severity != SeverityWarning || !strings.Contains(strings.ToLower(fs[i].Message), "kolonne") && !strings.Contains(fs[i].Message, "column") {
				t.Errorf("%s: %+v", lang, fs[i])
			}
		}
	}
}

// Issue 12: row.duplicate_conflict names the field that differs.
func TestDuplicateConflictNamesField(t *testing.T) {
	for _, tc := range []struct {
		differs, nb, en string
	}{
		{"batch", "men batchnummeret er forskjellig", "but the batch number differs"},
		{"dose", "men dosenummeret er forskjellig", "but the dose number differs"},
		{"batch, dose", "men både batchnummeret og dosenummeret er forskjellige", "but both the batch number and the dose number differ"},
	} {
		for lang, want := range map[string]string{LangNB: tc.nb, LangEN: tc.en} {
			f := Finding{Row: 4, Column: "person_id", Code: RowDuplicateConflict, Args: Args{"row": "2", "differs": tc.differs}}
			Localize(lang, &f)
			if !strings.Contains(f.Message, want) || !strings.Contains(f.Message, "2") {
				t.Errorf("%s %q: %q, want %q", lang, tc.differs, f.Message, want)
			}
		}
	}
}

// Issue 12: the text report prints a code's hint only when its message does not already hold
// it, so a hint that repeats the message is a code without "how to fix" (id.missing and
// date.before_birth were). Every row code's hint adds to its message.
func TestHintsAddToMessages(t *testing.T) {
	for _, code := range AllCodes() {
		for _, lang := range []string{LangNB, LangEN} {
			f := Finding{Row: 2, Code: code, Value: "x", Args: Args{"row": "2"}}
			Localize(lang, &f)
			if h := Hint(lang, code); h != "" && strings.Contains(f.Message, h) {
				t.Errorf("%s %s: the hint %q repeats the message %q", code, lang, h, f.Message)
			}
		}
	}
}
