package validate

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds the message catalog (validation-rules.md: messages say what is wrong and what
// to do, in words a nurse understands) in Norwegian bokmål (default) and English.
//
// Templates refer to Finding.Args as {name}; {value} is the cell value, substituted only for
// columns other than person_id (an identifier never appears in a message, not even masked). A
// part in [[ ]] is left out when any placeholder inside it has no value.

// LangNB and LangEN are the supported languages; anything else means LangNB.
const (
	LangNB = "nb"
	LangEN = "en"
)

// ByLang returns en when lang is LangEN and nb otherwise: the one place that picks the fixed
// words (labels) of a language; the report, the template and the annotated copy use it.
func ByLang[T any](lang string, nb, en T) T {
	if lang == LangEN {
		return en
	}
	return nb
}

// Localize fills f.Message for the language ("nb" default, "en").
func Localize(lang string, f *Finding) {
	en := lang == LangEN
	key := string(f.Code)
	switch {
	case f.Code == IDChecksum && f.Args["kind"] == string(KindDUF):
		key += "#duf"
	case f.Code == IDFormat && f.Args["digits"] == "10":
		key += "#ten"
	case (f.Code == BatchMissing || f.Code == VaccinatorMissing) && f.Row == 0:
		key += "#column" // the file has no such column (FileLevelMissing)
	}
	tmpl := message(en, key)
	if tmpl == "" {
		tmpl = message(en, string(f.Code))
	}
	if tmpl == "" {
		if en {
			tmpl = "Problem " + string(f.Code) + "."
		} else {
			tmpl = "Feil " + string(f.Code) + "."
		}
	}
	f.Message = render(tmpl, func(name string) string {
		switch name {
		case "value":
			if f.Column == ColPersonID.Key() {
				return ""
			}
			return f.Value
		case "type":
			return typeName(en, f.Args["type"])
		case "differs":
			return differs(en, f.Args["differs"])
		case "limit":
			if f.Code == FileTooLarge {
				return limitText(en, f.Args)
			}
		case "what":
			if f.Code == FileUnsupportedFormat || f.Code == FileLegacyXLS {
				return fileTypeName(en, f.Args["what"])
			}
		}
		return f.Args[name]
	})
}

// Hint returns a short "what to do" for a code (used by the text report), "" for an unknown code.
func Hint(lang string, c Code) string { return hint(lang == LangEN, c) }

// limitText is the limit of a file.too_large finding with its unit ("høyst 5 rader", "at most
// 50 MiB"), "" when the unit is not known: a bare number says nothing (issue 12). The unit is
// Args "unit", or follows from the fast reader's Args "detail" ("rows", "unpacked size").
func limitText(en bool, a Args) string {
	n, err := strconv.ParseInt(a["limit"], 10, 64)
	if err != nil || n <= 0 {
		return ""
	}
	unit := a["unit"]
	if unit == "" {
		switch a["detail"] {
		case "rows":
			unit = "rows"
		case "unpacked size", "shared strings":
			unit = "bytes"
		}
	}
	var v string
	switch unit {
	case "rows":
		v = fmt.Sprintf("%d %s", n, langText(en, "rader", "rows"))
	case "columns":
		v = fmt.Sprintf("%d %s", n, langText(en, "kolonner", "columns"))
	case "bytes":
		if n >= 1<<20 {
			v = fmt.Sprintf("%d MiB", n>>20)
		} else {
			v = fmt.Sprintf("%d byte", n)
			if en {
				v += "s"
			}
		}
	default:
		return ""
	}
	return langText(en, "høyst ", "at most ") + v
}

func langText(en bool, nb, enText string) string {
	if en {
		return enText
	}
	return nb
}

// FileTypeName names a kind of file (decrypt.Format.Type: "pdf", "ods", "csv", "empty", ...) in
// the language lang, "" for an unknown key.
func FileTypeName(lang, key string) string { return fileTypeName(lang == LangEN, key) }

// fileTypes are the names of decrypt.Format.Type keys: nb, en.
var fileTypes = map[string][2]string{
	"empty":            {"en tom fil (0 byte)", "an empty file (0 bytes)"},
	"blank-text":       {"en tekstfil med bare mellomrom", "a text file with only blank space"},
	"text":             {"en tekstfil", "a text file"},
	"csv":              {"en CSV-fil (tekst med skilletegn, for eksempel lagret som CSV fra Excel)", "a CSV file (delimited text, for example saved as CSV from Excel)"},
	"utf16-text":       {"en tekstfil i UTF-16 (kanskje en CSV-eksport)", "a UTF-16 text file (perhaps a CSV export)"},
	"ods":              {"et OpenDocument-regneark (.ods, fra LibreOffice eller OpenOffice)", "an OpenDocument spreadsheet (.ods, from LibreOffice or OpenOffice)"},
	"odt":              {"et OpenDocument-tekstdokument (.odt)", "an OpenDocument text document (.odt)"},
	"opendocument":     {"en OpenDocument-fil", "an OpenDocument file"},
	"zip":              {"et ZIP-arkiv", "a ZIP archive"},
	"zip-empty":        {"et tomt ZIP-arkiv", "an empty ZIP archive"},
	"zip-workbook":     {"et ZIP-arkiv med en arbeidsbok inni (send selve arbeidsboken)", "a ZIP archive with a workbook inside (send the workbook itself)"},
	"archive":          {"et komprimert arkiv (gzip, 7-Zip eller RAR)", "a compressed archive (gzip, 7-Zip or RAR)"},
	"pdf":              {"et PDF-dokument", "a PDF document"},
	"image":            {"et bilde", "an image"},
	"rtf":              {"et RTF-dokument", "an RTF document"},
	"html":             {"en nettside (HTML), kanskje lagret som nettside fra Excel", "a web page (HTML), perhaps saved as a web page from Excel"},
	"xml":              {"et XML-dokument", "an XML document"},
	"excel-xml":        {"et Excel 2003 XML-regneark", "an Excel 2003 XML spreadsheet"},
	"xls":              {"en Excel 97-2003-arbeidsbok (.xls)", "an Excel 97-2003 workbook (.xls)"},
	"biff":             {"et gammelt Excel-regneark (Excel 2-4)", "an old Excel worksheet (Excel 2-4)"},
	"xlsb":             {"en binær Excel-arbeidsbok (.xlsb)", "an Excel binary workbook (.xlsb)"},
	"lotus":            {"et Lotus 1-2-3-regneark", "a Lotus 1-2-3 spreadsheet"},
	"docx":             {"et Word-dokument (.docx)", "a Word document (.docx)"},
	"doc":              {"et Word 97-2003-dokument (.doc)", "a Word 97-2003 document (.doc)"},
	"pptx":             {"en PowerPoint-presentasjon (.pptx)", "a PowerPoint presentation (.pptx)"},
	"ppt":              {"en PowerPoint 97-2003-presentasjon (.ppt)", "a PowerPoint 97-2003 presentation (.ppt)"},
	"ooxml":            {"en Office-fil som ikke er en arbeidsbok", "an Office file that is not a workbook"},
	"ole":              {"en eldre Office-fil uten arbeidsbok", "an older Office file without a workbook"},
	"epub":             {"en e-bok (EPUB)", "an e-book (EPUB)"},
	"binary":           {"en ukjent binærfil", "an unrecognised binary file"},
	"pgp-key":          {"en OpenPGP-nøkkel eller -signatur (ikke en kryptert melding)", "an OpenPGP key or signature (not an encrypted message)"},
	"openpgp":          {"en OpenPGP-melding", "an OpenPGP message"},
	"office-encrypted": {"en kryptert Office-fil", "an encrypted Office file"},
	"xlsx":             {"en Excel-arbeidsbok", "an Excel workbook"},
}

func fileTypeName(en bool, key string) string {
	n, ok := fileTypes[key]
	if !ok {
		return ""
	}
	if en {
		return n[1]
	}
	return n[0]
}

// differs names the fields in which a row.duplicate_conflict row differs from the row it
// repeats (Args "differs": "batch", "dose" or "batch, dose").
func differs(en bool, fields string) string {
	batch, dose := strings.Contains(fields, ColBatch.Key()), strings.Contains(fields, ColDose.Key())
	switch {
	case batch && dose && en:
		return "both the batch number and the dose number differ"
	case batch && dose:
		return "både batchnummeret og dosenummeret er forskjellige"
	case batch && en:
		return "the batch number differs"
	case batch:
		return "batchnummeret er forskjellig"
	case dose && en:
		return "the dose number differs"
	case dose:
		return "dosenummeret er forskjellig"
	case en:
		return "the batch number or the dose number differs"
	}
	return "batchnummeret eller dosenummeret er forskjellig"
}

// typeName translates the Norwegian type names of IDKind.TypeName for English messages.
func typeName(en bool, t string) string {
	if !en {
		return t
	}
	switch t {
	case "H-nummer":
		return "H-number (a local auxiliary number)"
	case "felles hjelpenummer":
		return "common auxiliary number (felles hjelpenummer)"
	case "NPID":
		return "NAV NPID number"
	}
	return t
}

// render substitutes {name} placeholders and drops [[optional]] parts whose placeholders are empty.
func render(tmpl string, arg func(string) string) string {
	var b strings.Builder
	for tmpl != "" {
		i := strings.Index(tmpl, "[[")
		if i < 0 {
			b.WriteString(fill(tmpl, arg, nil))
			break
		}
		b.WriteString(fill(tmpl[:i], arg, nil))
		rest := tmpl[i+2:]
		j := strings.Index(rest, "]]")
		if j < 0 {
			b.WriteString(fill(rest, arg, nil))
			break
		}
		missing := false
		s := fill(rest[:j], arg, &missing)
		if !missing {
			b.WriteString(s)
		}
		tmpl = rest[j+2:]
	}
	return b.String()
}

func fill(s string, arg func(string) string, missing *bool) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		v := arg(s[i+1 : i+j])
		if v == "" && missing != nil {
			*missing = true
		}
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

func message(en bool, key string) string {
	if en {
		return messageEN(key)
	}
	return messageNB(key)
}

func messageNB(key string) string {
	if m := messageNBRows(key); m != "" {
		return m
	}
	return messageNBFiles(key)
}

// messageNBRows holds the messages of the row-level codes.
func messageNBRows(key string) string {
	switch key {
	case "id.missing":
		return "Fødselsnummer mangler. Fyll inn fødselsnummer, D-nummer eller DUF-nummer."
	case "id.format":
		return "Fødselsnummeret har feil form: det skal være 11 siffer (fødselsnummer eller D-nummer) eller 12 siffer (DUF-nummer), uten bokstaver. Sjekk nummeret og skriv det inn på nytt."
	case "id.format#ten":
		return "Fødselsnummeret har bare 10 siffer; det skal ha 11. Sjekk om et siffer mangler, og skriv inn hele nummeret."
	case "id.leading_zero_restored":
		return "Fødselsnummeret manglet 0 først (Excel fjerner ledende null i tallceller). Nullen er satt inn igjen. Formater kolonnen som tekst neste gang."
	case "id.precision_lost":
		return "Fødselsnummeret står som et avrundet tall (for eksempel 1,51087E+10), og sifrene er borte. Formater kolonnen som tekst og skriv inn nummeret på nytt."
	case "id.birthdate":
		return "Fødselsnummeret inneholder en dato som ikke finnes. Sjekk at nummeret er skrevet riktig."
	case "id.checksum":
		return "Kontrollsifrene i fødselsnummeret stemmer ikke. Trolig er et siffer skrevet feil; sjekk nummeret."
	case "id.checksum#duf":
		return "DUF-nummeret har ugyldige kontrollsifre (antatt algoritme). Sjekk nummeret mot papirene til personen."
	case "id.duf_year":
		return "DUF-nummeret begynner med et årstall som ikke er mulig (før 1854 eller etter i år). Sjekk nummeret."
	case "id.type_not_allowed":
		return "Nummeret er et {type}. SYSVAK tar bare imot fødselsnummer, D-nummer eller DUF-nummer. Bruk personens fødselsnummer, D-nummer eller DUF-nummer."
	case "id.synthetic":
		return "Nummeret er et syntetisk testnummer ({type}), ikke en ekte person. Det kan ikke registreres i SYSVAK; bruk et ekte fødselsnummer."
	case "date.missing":
		return "Vaksinasjonsdato mangler. Fyll inn datoen vaksinen ble gitt (dd.mm.åååå)."
	case "date.format":
		return "Vaksinasjonsdatoen «{value}» er ikke en gyldig dato. Skriv den som dd.mm.åååå, for eksempel 05.03.2024."
	case "date.future":
		return "Vaksinasjonsdatoen {value} er frem i tid[[ (etter {asof})]]. Sjekk datoen."
	case "date.before_birth":
		return "Vaksinasjonsdatoen {value} er før fødselsdatoen i fødselsnummeret[[ ({birth})]]. Sjekk datoen og fødselsnummeret."
	case "date.implausible":
		return "Vaksinasjonsdatoen {value} er mer enn 110 år tilbake i tid. Sjekk at året er riktig."
	case "code.missing":
		return "Vaksinekode mangler. Fyll inn SYSVAK-koden for vaksinen (for eksempel BCG01)."
	case "code.format":
		return "Vaksinekoden «{value}» har feil form. En SYSVAK-kode er 2 eller 3 bokstaver og 2 siffer, for eksempel BCG01."
	case "code.unknown":
		return "Vaksinekoden «{value}» finnes ikke i kodelisten. Sjekk koden i SYSVAK-kodelisten."
	case "code.inactive":
		return "Vaksinekoden {value} gjaldt ikke på vaksinasjonsdatoen[[ (gyldig fra {from})]][[ (gyldig til {to})]]. Sjekk koden og datoen."
	case "dose.format":
		return "Dosenummeret «{value}» er ikke et helt tall fra 1 til 20. Skriv dosenummeret som et tall, for eksempel 1."
	case "batch.missing":
		return "Batchnummer mangler. Raden blir registrert, men fyll inn batchnummeret om du har det."
	case "batch.missing#column":
		return "Filen har ingen kolonne for batchnummer. Radene blir registrert, men legg til kolonnen «Batchnummer» neste gang."
	case "batch.format":
		return "Batchnummeret «{value}» er for langt (over 40 tegn) eller har ugyldige tegn. Bruk bare bokstaver, siffer, mellomrom, -, / og punktum."
	case "vaccinator.missing":
		return "HPR-nummer for vaksinatør mangler. Raden blir registrert, men fyll inn HPR-nummeret om du har det."
	case "vaccinator.missing#column":
		return "Filen har ingen kolonne for vaksinatørens HPR-nummer. Radene blir registrert, men legg til kolonnen «Vaksinatør HPR-nummer» neste gang."
	case "vaccinator.format":
		return "HPR-nummeret «{value}» er ikke gyldig. Det skal være 1 til 9 siffer."
	case "unit.format":
		return "Helseenhet «{value}» er ikke gyldig. Skriv organisasjonsnummer (9 siffer) eller HER-id (bare siffer)."
	case "municipality.format":
		return "Kommunenummeret «{value}» er ikke gyldig. Det skal være 4 siffer, for eksempel 0301."
	case "municipality.leading_zero_restored":
		return "Kommunenummeret «{value}» manglet 0 først (Excel fjerner ledende null i tallceller). Nullen er satt inn igjen."
	case "given_elsewhere.format":
		return "«{value}» i Gitt annet sted er ikke ja eller nei. Skriv Ja eller Nei (eller la feltet stå tomt)."
	case "action.format":
		return "Handling «{value}» er ukjent. Skriv R (registrer) eller S (slett), eller la feltet stå tomt."
	case "comment.too_long":
		return "Merknaden er lengre enn 500 tegn. Kort den ned."
	case "cell.formula_no_value":
		return "Cellen har en formel uten lagret verdi. Åpne filen i Excel, lagre den på nytt og send den igjen, eller skriv inn verdien i stedet for formelen."
	case "row.duplicate":
		return "Samme person, dato og vaksinekode som rad {row}. Raden blir ikke registrert to ganger."
	case "row.duplicate_conflict":
		return "Samme person, dato og vaksinekode som rad {row}, men {differs}. Raden blir ikke registrert; sjekk hvilken rad som er riktig."
	case "ledger.duplicate":
		return "Vaksinasjonen er allerede registrert[[ fra fil {file}]][[, rad {row}]]. Den blir ikke registrert på nytt."
	case "ledger.delete_unknown":
		return "Raden ber om sletting av en vaksinasjon som ikke er registrert herfra. Sjekk person, dato og vaksinekode."
	}
	return ""
}

// messageNBFiles holds the messages of the file-level and mail codes.
func messageNBFiles(key string) string {
	switch key {
	case "file.unsupported_format":
		return "Filen er ikke en Excel-arbeidsbok (.xlsx)[[; den ser ut som {what}]]. Send filen som .xlsx."
	case "file.legacy_xls":
		return "Filen er i det gamle Excel-formatet (.xls). Lagre den som Excel-arbeidsbok (.xlsx) og send den på nytt."
	case "file.password_needed":
		return "Filen er kryptert, og passordet er ikke kjent ennå. Filen venter til passordet blir oppgitt."
	case "file.wrong_password":
		return "Passordet åpner ikke filen. Filen venter; legg inn riktig passord."
	case "file.corrupt":
		return "Filen er skadet eller ufullstendig. Lagre den på nytt og send den igjen."
	case "file.integrity":
		return "Filens integritetskontroll feilet, eller filen er ikke beskyttet mot endring. Send filen på nytt."
	case "file.too_large":
		return "Filen er for stor[[ ({limit})]]. Del den opp i flere filer og send dem hver for seg."
	case "file.no_sheet":
		return "Filen har ikke noe synlig ark med rader. Legg vaksinasjonene på arket «Vaksinasjoner»."
	case "file.header_not_found":
		return "Fant ikke overskriftsraden blant de 10 første radene. Bruk malen, med kolonneoverskriftene øverst."
	case "file.column_missing":
		return "Kolonnen «{column}» mangler[[ (fant: {headers})]]. Legg til kolonnen, eller bruk malen."
	case "file.no_rows":
		return "Filen har overskrifter, men ingen rader med vaksinasjoner."
	case "header.unknown_column":
		return "Kolonnen «{column}» er ukjent og blir ikke lest."
	case "mail.no_attachment":
		return "E-posten har ikke noe vedlegg som kan leses inn. Legg ved den krypterte Excel-filen."
	case "mail.unreadable":
		return "E-posten eller vedlegget kunne ikke leses. Send e-posten på nytt."
	case "mail.too_many_parts":
		return "E-posten har for mange deler. Send én fil per e-post."
	case "mail.too_deep":
		return "E-posten er pakket i for mange lag (videresendt mange ganger). Send filen som vanlig vedlegg."
	}
	return ""
}

func messageEN(key string) string {
	if m := messageENRows(key); m != "" {
		return m
	}
	return messageENFiles(key)
}

// messageENRows holds the messages of the row-level codes.
func messageENRows(key string) string {
	switch key {
	case "id.missing":
		return "The ID number is missing. Enter the national ID number (fødselsnummer), D-number or DUF number."
	case "id.format":
		return "The ID number has the wrong form: it must be 11 digits (fødselsnummer or D-number) or 12 digits (DUF number), without letters. Check the number and enter it again."
	case "id.format#ten":
		return "The ID number has only 10 digits; it needs 11. Check whether a digit is missing and enter the whole number."
	case "id.leading_zero_restored":
		return "The ID number had lost its leading 0 (Excel drops leading zeros in number cells). The zero was put back. Format the column as text next time."
	case "id.precision_lost":
		return "The ID number was stored as a rounded number (such as 1.51087E+10) and its digits are lost. Format the column as text and enter the number again."
	case "id.birthdate":
		return "The ID number contains a date that does not exist. Check that the number is typed correctly."
	case "id.checksum":
		return "The check digits of the ID number do not match. A digit is probably mistyped; check the number."
	case "id.checksum#duf":
		return "The DUF number has invalid check digits (assumed algorithm). Check the number against the person's papers."
	case "id.duf_year":
		return "The DUF number starts with a year that is not possible (before 1854 or after this year). Check the number."
	case "id.type_not_allowed":
		return "The number is a {type}. SYSVAK accepts only a fødselsnummer, D-number or DUF number. Use the person's fødselsnummer, D-number or DUF number."
	case "id.synthetic":
		return "The number is a synthetic test number ({type}), not a real person. It cannot be registered in SYSVAK; use a real ID number."
	case "date.missing":
		return "The vaccination date is missing. Enter the date the vaccine was given (dd.mm.yyyy)."
	case "date.format":
		return "The vaccination date \"{value}\" is not a valid date. Write it as dd.mm.yyyy, for example 05.03.2024."
	case "date.future":
		return "The vaccination date {value} is in the future[[ (after {asof})]]. Check the date."
	case "date.before_birth":
		return "The vaccination date {value} is before the birth date in the ID number[[ ({birth})]]. Check the date and the ID number."
	case "date.implausible":
		return "The vaccination date {value} is more than 110 years ago. Check the year."
	case "code.missing":
		return "The vaccine code is missing. Enter the SYSVAK code of the vaccine (for example BCG01)."
	case "code.format":
		return "The vaccine code \"{value}\" has the wrong form. A SYSVAK code is 2 or 3 letters and 2 digits, for example BCG01."
	case "code.unknown":
		return "The vaccine code \"{value}\" is not in the code list. Check the code in the SYSVAK code list."
	case "code.inactive":
		return "The vaccine code {value} was not valid on the vaccination date[[ (valid from {from})]][[ (valid until {to})]]. Check the code and the date."
	case "dose.format":
		return "The dose number \"{value}\" is not a whole number from 1 to 20. Write the dose number as a number, for example 1."
	case "batch.missing":
		return "The batch number is missing. The row is registered, but enter the batch number if you have it."
	case "batch.missing#column":
		return "The file has no batch number column. The rows are registered, but add the column \"Batchnummer\" next time."
	case "batch.format":
		return "The batch number \"{value}\" is too long (over 40 characters) or has invalid characters. Use only letters, digits, spaces, -, / and full stops."
	case "vaccinator.missing":
		return "The vaccinator's HPR number is missing. The row is registered, but enter the HPR number if you have it."
	case "vaccinator.missing#column":
		return "The file has no column for the vaccinator's HPR number. The rows are registered, but add the column \"Vaksinatør HPR-nummer\" next time."
	case "vaccinator.format":
		return "The HPR number \"{value}\" is not valid. It must be 1 to 9 digits."
	case "unit.format":
		return "The health unit \"{value}\" is not valid. Enter an organisation number (9 digits) or a HER-id (digits only)."
	case "municipality.format":
		return "The municipality number \"{value}\" is not valid. It must be 4 digits, for example 0301."
	case "municipality.leading_zero_restored":
		return "The municipality number \"{value}\" had lost its leading 0 (Excel drops leading zeros in number cells). The 0 was put back."
	case "given_elsewhere.format":
		return "\"{value}\" in Given elsewhere is not yes or no. Write Ja or Nei (or leave it blank)."
	case "action.format":
		return "The action \"{value}\" is unknown. Write R (register) or S (delete), or leave it blank."
	case "comment.too_long":
		return "The comment is longer than 500 characters. Shorten it."
	case "cell.formula_no_value":
		return "The cell has a formula without a saved value. Open the file in Excel, save it again and resend it, or type the value instead of the formula."
	case "row.duplicate":
		return "Same person, date and vaccine code as row {row}. The row is not registered twice."
	case "row.duplicate_conflict":
		return "Same person, date and vaccine code as row {row}, but {differs}. The row is not registered; check which row is right."
	case "ledger.duplicate":
		return "This vaccination is already registered[[ from file {file}]][[, row {row}]]. It is not registered again."
	case "ledger.delete_unknown":
		return "The row asks to delete a vaccination that was never registered here. Check the person, date and vaccine code."
	}
	return ""
}

// messageENFiles holds the messages of the file-level and mail codes.
func messageENFiles(key string) string {
	switch key {
	case "file.unsupported_format":
		return "The file is not an Excel workbook (.xlsx)[[; it looks like {what}]]. Send the file as .xlsx."
	case "file.legacy_xls":
		return "The file is in the old Excel format (.xls). Save it as an Excel workbook (.xlsx) and send it again."
	case "file.password_needed":
		return "The file is encrypted and its password is not known yet. The file waits until the password is supplied."
	case "file.wrong_password":
		return "The password does not open the file. The file waits; supply the right password."
	case "file.corrupt":
		return "The file is damaged or incomplete[[ ({detail})]]. Save it again and resend it."
	case "file.integrity":
		return "The file's integrity check failed, or the file is not protected against changes. Send the file again."
	case "file.too_large":
		return "The file is too large[[ ({limit})]]. Split it into several files and send them separately."
	case "file.no_sheet":
		return "The file has no visible sheet with rows. Put the vaccinations on the sheet \"Vaksinasjoner\"."
	case "file.header_not_found":
		return "No header row was found in the first 10 rows. Use the template, with the column headers at the top."
	case "file.column_missing":
		return "The column \"{column}\" is missing[[ (found: {headers})]]. Add the column, or use the template."
	case "file.no_rows":
		return "The file has headers but no rows with vaccinations."
	case "header.unknown_column":
		return "The column \"{column}\" is unknown and is not read."
	case "mail.no_attachment":
		return "The message has no attachment that can be taken in[[ ({detail})]]. Attach the encrypted Excel file."
	case "mail.unreadable":
		return "The message or its attachment could not be read[[ ({detail})]]. Send the message again."
	case "mail.too_many_parts":
		return "The message has too many parts. Send one file per message."
	case "mail.too_deep":
		return "The message is nested too deeply (forwarded many times). Send the file as a plain attachment."
	}
	return ""
}

func hint(en bool, c Code) string {
	if en {
		return hintEN(c)
	}
	return hintNB(c)
}

func hintNB(c Code) string {
	switch c {
	case IDMissing:
		return "Skriv personens fødselsnummer eller D-nummer (11 siffer) eller DUF-nummer (12 siffer) i kolonnen Fødselsnummer. Hører raden ikke med, slett den."
	case IDFormat:
		return "Skriv nummeret med 11 siffer (12 for DUF-nummer), uten bokstaver."
	case IDLeadingZeroRestored:
		return "Formater fødselsnummer-kolonnen som tekst i Excel."
	case IDPrecisionLost:
		return "Formater kolonnen som tekst og skriv inn numrene på nytt."
	case IDBirthdate, IDChecksum:
		return "Sjekk at nummeret er skrevet av riktig."
	case IDDUFYear:
		return "Sjekk DUF-nummeret; det begynner med registreringsåret."
	case IDTypeNotAllowed:
		return "Bruk fødselsnummer, D-nummer eller DUF-nummer."
	case IDSynthetic:
		return "Bruk ekte fødselsnumre; testnumre hører bare hjemme i testmiljøer."
	case DateMissing:
		return "Fyll inn vaksinasjonsdatoen."
	case DateFormat:
		return "Skriv datoen som dd.mm.åååå."
	case DateFuture, DateImplausible:
		return "Sjekk datoen, særlig året."
	case DateBeforeBirth:
		return "Se om dag og måned er byttet om eller året er feil, og om fødselsnummeret hører til riktig person."
	case CodeMissing:
		return "Fyll inn SYSVAK-koden for vaksinen."
	case CodeFormat, CodeUnknown:
		return "Slå opp riktig kode i SYSVAK-kodelisten."
	case CodeInactive:
		return "Bruk koden som gjaldt på vaksinasjonsdatoen."
	case DoseFormat:
		return "Skriv dosenummeret som et tall fra 1 til 20."
	case BatchMissing:
		return "Fyll inn batchnummeret fra vaksinepakningen."
	case BatchFormat:
		return "Skriv batchnummeret slik det står på pakningen (høyst 40 tegn)."
	case VaccinatorMissing:
		return "Fyll inn vaksinatørens HPR-nummer."
	case VaccinatorFormat:
		return "Skriv HPR-nummeret med bare siffer (1 til 9)."
	case UnitFormat:
		return "Skriv organisasjonsnummer (9 siffer) eller HER-id."
	case MunicipalityFormat:
		return "Skriv kommunenummeret med 4 siffer; formater kolonnen som tekst."
	case MunicipalityLeadingZeroRestored:
		return "Formater kommunenummer-kolonnen som tekst i Excel."
	case GivenElsewhereFormat:
		return "Skriv Ja eller Nei."
	case ActionFormat:
		return "Skriv R for registrering eller S for sletting."
	case CommentTooLong:
		return "Kort ned merknaden til høyst 500 tegn."
	case CellFormulaNoValue:
		return "Lagre filen i Excel på nytt, eller skriv inn verdien."
	case RowDuplicate, RowDuplicateConflict:
		return "Fjern den doble raden, eller rett den som er feil."
	case LedgerDuplicate:
		return "Ingenting å gjøre; vaksinasjonen er allerede registrert."
	case LedgerDeleteUnknown:
		return "Sjekk at slettingen gjelder riktig person, dato og kode."
	case FileUnsupportedFormat, FileLegacyXLS:
		return "Send filen som Excel-arbeidsbok (.xlsx)."
	case FilePasswordNeeded, FileWrongPassword:
		return "Oppgi passordet fra SMS-en: med --password-file, ved spørsmålet om passord, eller med «sysvak-import unlock ID» for filer fra e-post."
	case FileCorrupt, FileIntegrity:
		return "Be avsenderen lagre og sende filen på nytt."
	case FileTooLarge:
		return "Del filen opp i mindre filer."
	case FileNoSheet, FileHeaderNotFound, FileColumnMissing:
		return "Bruk malen fra «sysvak-import template»."
	case FileNoRows:
		return "Fyll inn vaksinasjonene under overskriftene."
	case HeaderUnknownColumn:
		return "Fjern kolonnen, eller gi den et kjent navn."
	case MailNoAttachment, MailUnreadable, MailTooManyParts, MailTooDeep:
		return "Be avsenderen sende den krypterte .xlsx-filen som vedlegg, én fil per e-post."
	}
	return ""
}

func hintEN(c Code) string {
	switch c {
	case IDMissing:
		return "Write the person's fødselsnummer or D-number (11 digits) or DUF number (12 digits) in the Fødselsnummer column. If the row does not belong in the file, delete it."
	case IDFormat:
		return "Write the number with 11 digits (12 for a DUF number), without letters."
	case IDLeadingZeroRestored:
		return "Format the ID column as text in Excel."
	case IDPrecisionLost:
		return "Format the column as text and enter the numbers again."
	case IDBirthdate, IDChecksum:
		return "Check that the number was copied correctly."
	case IDDUFYear:
		return "Check the DUF number; it starts with the year of registration."
	case IDTypeNotAllowed:
		return "Use a fødselsnummer, D-number or DUF number."
	case IDSynthetic:
		return "Use real ID numbers; test numbers belong in test environments only."
	case DateMissing:
		return "Enter the vaccination date."
	case DateFormat:
		return "Write the date as dd.mm.yyyy."
	case DateFuture, DateImplausible:
		return "Check the date, especially the year."
	case DateBeforeBirth:
		return "See whether day and month are swapped or the year is wrong, and whether the ID number belongs to the right person."
	case CodeMissing:
		return "Enter the SYSVAK code of the vaccine."
	case CodeFormat, CodeUnknown:
		return "Look up the right code in the SYSVAK code list."
	case CodeInactive:
		return "Use the code that was valid on the vaccination date."
	case DoseFormat:
		return "Write the dose number as a number from 1 to 20."
	case BatchMissing:
		return "Enter the batch number from the vaccine package."
	case BatchFormat:
		return "Write the batch number as printed on the package (at most 40 characters)."
	case VaccinatorMissing:
		return "Enter the vaccinator's HPR number."
	case VaccinatorFormat:
		return "Write the HPR number with digits only (1 to 9)."
	case UnitFormat:
		return "Enter an organisation number (9 digits) or a HER-id."
	case MunicipalityFormat:
		return "Write the municipality number with 4 digits; format the column as text."
	case MunicipalityLeadingZeroRestored:
		return "Format the municipality number column as text in Excel."
	case GivenElsewhereFormat:
		return "Write Ja or Nei (yes or no)."
	case ActionFormat:
		return "Write R to register or S to delete."
	case CommentTooLong:
		return "Shorten the comment to at most 500 characters."
	case CellFormulaNoValue:
		return "Save the file again in Excel, or type the value."
	case RowDuplicate, RowDuplicateConflict:
		return "Remove the repeated row, or correct the wrong one."
	case LedgerDuplicate:
		return "Nothing to do; the vaccination is already registered."
	case LedgerDeleteUnknown:
		return "Check that the deletion names the right person, date and code."
	case FileUnsupportedFormat, FileLegacyXLS:
		return "Send the file as an Excel workbook (.xlsx)."
	case FilePasswordNeeded, FileWrongPassword:
		return "Give the password from the SMS: with --password-file, at the password prompt, or with \"sysvak-import unlock ID\" for files from the mailbox."
	case FileCorrupt, FileIntegrity:
		return "Ask the sender to save and send the file again."
	case FileTooLarge:
		return "Split the file into smaller files."
	case FileNoSheet, FileHeaderNotFound, FileColumnMissing:
		return "Use the template from \"sysvak-import template\"."
	case FileNoRows:
		return "Enter the vaccinations below the headers."
	case HeaderUnknownColumn:
		return "Remove the column, or give it a known name."
	case MailNoAttachment, MailUnreadable, MailTooManyParts, MailTooDeep:
		return "Ask the sender to attach the encrypted .xlsx file, one file per message."
	}
	return ""
}
