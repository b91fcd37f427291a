package template

import "github.com/fhi/sysvak-import/validate"

// columnText is what the template tells the person filling in one column: the input prompt shown
// when a data cell is selected (data-validation input message; Excel limits: title 32
// characters, message 255) and the comment on the header cell.
type columnText struct {
	title   string // prompt title, at most 32 characters
	prompt  string // prompt message, at most 255 characters
	comment string // header cell comment
	errMsg  string // data-validation error message (where the column has a rule)
}

// labels are the fixed words of the template in one language.
type labels struct {
	required, recommended, optional string
	errTitle                        string
	codesHeader                     [5]string // hidden code sheet: code, name, ATC, valid from, valid to
}

var labelsNB = labels{
	required:    "påkrevd",
	recommended: "anbefalt",
	optional:    "valgfri",
	errTitle:    "Sjekk verdien",
	codesHeader: [5]string{"Vaksinekode", "Navn", "ATC", "Gyldig fra", "Gyldig til"},
}

var labelsEN = labels{
	required:    "required",
	recommended: "recommended",
	optional:    "optional",
	errTitle:    "Check the value",
	codesHeader: [5]string{"Vaccine code", "Name", "ATC", "Valid from", "Valid to"},
}

// Column texts follow filimport-columns.md "Columns" (layout v1).
var textsNB = [validate.NumColumns]columnText{
	validate.ColPersonID: {
		title:   "Fødselsnummer (påkrevd)",
		prompt:  "Fødselsnummer eller D-nummer (11 siffer) eller DUF-nummer (12 siffer). Kolonnen er tekst, så ledende null beholdes. Skriv bare sifrene.",
		comment: "Påkrevd. Fødselsnummer, D-nummer (11 siffer) eller DUF-nummer (12 siffer). Cellene er formatert som tekst slik at Excel beholder ledende null (01…).",
		errMsg:  "Et fødselsnummer eller D-nummer har 11 siffer, et DUF-nummer 12.",
	},
	validate.ColName: {
		title:   "Navn (valgfri)",
		prompt:  "Pasientens fulle navn. Valgfritt; brukes bare til kontroll.",
		comment: "Valgfri. Pasientens fulle navn.",
	},
	validate.ColVaccinationDate: {
		title:   "Vaksinasjonsdato (påkrevd)",
		prompt:  "Datoen vaksinen ble gitt, som dd.mm.åååå (for eksempel 17.05.2024). Ikke fram i tid.",
		comment: "Påkrevd. Datoen vaksinen ble gitt, dd.mm.åååå. Cellene er formatert som dato.",
		errMsg:  "Skriv en dato som dd.mm.åååå, ikke fram i tid.",
	},
	validate.ColSysvakCode: {
		title:   "Vaksinekode (påkrevd)",
		prompt:  "SYSVAK-koden for vaksinen: velg fra lista (pil til høyre for cellen). Koden er 2–3 store bokstaver og 2 siffer, for eksempel BNT03.",
		comment: "Påkrevd. SYSVAK-kode (Volven 9501), for eksempel BNT03. Velg fra nedtrekkslista.",
		errMsg:  "Koden finnes ikke i lista over SYSVAK-koder. Sjekk at den er riktig.",
	},
	validate.ColDose: {
		title:   "Dosenummer (valgfri)",
		prompt:  "Hvilken dose dette er: et helt tall fra 1 til 20.",
		comment: "Valgfri. Dosenummer, et helt tall 1–20.",
		errMsg:  "Dosenummeret er et helt tall fra 1 til 20.",
	},
	validate.ColBatch: {
		title:   "Batchnummer (anbefalt)",
		prompt:  "Batch- eller lotnummeret på pakningen: 1–40 tegn (bokstaver, sifre, mellomrom, - / .). Anbefalt: tomt gir en advarsel.",
		comment: "Anbefalt. Batch-/lotnummer fra pakningen, 1–40 tegn.",
		errMsg:  "Batchnummeret har 1–40 tegn.",
	},
	validate.ColVaccinatorHPR: {
		title:   "HPR-nummer (anbefalt)",
		prompt:  "HPR-nummeret til den som vaksinerte: 1–9 siffer. Anbefalt: tomt gir en advarsel.",
		comment: "Anbefalt. Vaksinatørens HPR-nummer (Helsepersonellregisteret), 1–9 siffer. Tekstformat.",
		errMsg:  "Et HPR-nummer har 1–9 siffer.",
	},
	validate.ColUnitID: {
		title:   "Helseenhet (valgfri)",
		prompt:  "Organisasjonsnummer (9 siffer) eller HER-id for enheten som vaksinerte.",
		comment: "Valgfri. Organisasjonsnummer (9 siffer) eller HER-id. Tekstformat.",
	},
	validate.ColMunicipality: {
		title:   "Kommunenummer (valgfri)",
		prompt:  "Kommunenummeret med fire siffer, for eksempel 0301 for Oslo. Ledende null beholdes.",
		comment: "Valgfri. Kommunenummer, 4 siffer (0301 = Oslo). Tekstformat.",
		errMsg:  "Et kommunenummer har 4 siffer.",
	},
	validate.ColGivenElsewhere: {
		title:   "Gitt annet sted (valgfri)",
		prompt:  "Ja hvis vaksinen ble gitt et annet sted (for eksempel i utlandet) og registreres i ettertid, ellers Nei eller tomt.",
		comment: "Valgfri. Ja/Nei: vaksinen ble gitt et annet sted og etterregistreres.",
		errMsg:  "Velg Ja eller Nei fra lista.",
	},
	validate.ColAction: {
		title:   "Handling (valgfri)",
		prompt:  "R = registrer (standard når tom), S = slett en tidligere registrering av samme person, dato og vaksinekode.",
		comment: "Valgfri. R = registrer (standard), S = slett en tidligere registrering.",
		errMsg:  "Velg R eller S fra lista.",
	},
	validate.ColComment: {
		title:   "Merknad (valgfri)",
		prompt:  "Fritekst, høyst 500 tegn. Ikke skriv sensitive opplysninger her.",
		comment: "Valgfri. Fritekst, høyst 500 tegn.",
		errMsg:  "Merknaden kan ha høyst 500 tegn.",
	},
}

var textsEN = [validate.NumColumns]columnText{
	validate.ColPersonID: {
		title:   "National ID (required)",
		prompt:  "Fødselsnummer or D-nummer (11 digits) or DUF-nummer (12 digits). The column is text, so a leading zero is kept. Type the digits only.",
		comment: "Required. Fødselsnummer, D-nummer (11 digits) or DUF-nummer (12 digits). The cells are formatted as text so that Excel keeps a leading zero (01…).",
		errMsg:  "A fødselsnummer or D-nummer has 11 digits, a DUF-nummer 12.",
	},
	validate.ColName: {
		title:   "Name (optional)",
		prompt:  "The patient's full name. Optional; used for checking only.",
		comment: "Optional. The patient's full name.",
	},
	validate.ColVaccinationDate: {
		title:   "Vaccination date (required)",
		prompt:  "The date the vaccine was given, as dd.mm.yyyy (for example 17.05.2024). Not in the future.",
		comment: "Required. The date the vaccine was given, dd.mm.yyyy. The cells are formatted as dates.",
		errMsg:  "Type a date as dd.mm.yyyy, not in the future.",
	},
	validate.ColSysvakCode: {
		title:   "Vaccine code (required)",
		prompt:  "The vaccine's SYSVAK code: pick it from the list (arrow right of the cell). Two or three capital letters and two digits, for example BNT03.",
		comment: "Required. SYSVAK code (Volven 9501), for example BNT03. Pick it from the drop-down list.",
		errMsg:  "The code is not in the list of SYSVAK codes. Check that it is right.",
	},
	validate.ColDose: {
		title:   "Dose number (optional)",
		prompt:  "Which dose this is: a whole number from 1 to 20.",
		comment: "Optional. Dose number, a whole number 1-20.",
		errMsg:  "The dose number is a whole number from 1 to 20.",
	},
	validate.ColBatch: {
		title:   "Batch number (recommended)",
		prompt:  "The batch or lot number on the package: 1-40 characters (letters, digits, space, - / .). Recommended: blank gives a warning.",
		comment: "Recommended. Batch/lot number from the package, 1-40 characters.",
		errMsg:  "A batch number has 1-40 characters.",
	},
	validate.ColVaccinatorHPR: {
		title:   "HPR number (recommended)",
		prompt:  "The HPR number of the person who vaccinated: 1-9 digits. Recommended: blank gives a warning.",
		comment: "Recommended. The vaccinator's HPR number (health personnel register), 1-9 digits. Text format.",
		errMsg:  "An HPR number has 1-9 digits.",
	},
	validate.ColUnitID: {
		title:   "Health unit (optional)",
		prompt:  "Organisation number (9 digits) or HER-id of the unit that vaccinated.",
		comment: "Optional. Organisation number (9 digits) or HER-id. Text format.",
	},
	validate.ColMunicipality: {
		title:   "Municipality (optional)",
		prompt:  "The four-digit municipality number, for example 0301 for Oslo. A leading zero is kept.",
		comment: "Optional. Municipality number, 4 digits (0301 = Oslo). Text format.",
		errMsg:  "A municipality number has 4 digits.",
	},
	validate.ColGivenElsewhere: {
		title:   "Given elsewhere (optional)",
		prompt:  "Ja (yes) if the vaccine was given elsewhere (for example abroad) and is registered afterwards, else Nei (no) or blank.",
		comment: "Optional. Ja/Nei (yes/no): given elsewhere and registered afterwards.",
		errMsg:  "Pick Ja or Nei from the list.",
	},
	validate.ColAction: {
		title:   "Action (optional)",
		prompt:  "R = register (the default when blank), S = delete an earlier registration of the same person, date and vaccine code.",
		comment: "Optional. R = register (default), S = delete an earlier registration.",
		errMsg:  "Pick R or S from the list.",
	},
	validate.ColComment: {
		title:   "Comment (optional)",
		prompt:  "Free text, at most 500 characters. Do not write sensitive information here.",
		comment: "Optional. Free text, at most 500 characters.",
		errMsg:  "A comment has at most 500 characters.",
	},
}

func textsFor(lang string) *[validate.NumColumns]columnText {
	if lang == "en" {
		return &textsEN
	}
	return &textsNB
}

// guideNB is the Veiledning sheet, in Norwegian bokmål, one entry per row. A leading "# " marks
// a heading. {required} and {recommended} are replaced with the header names.
var guideNB = []string{
	"# Slik fyller du ut fila til SYSVAK",
	"Skriv én vaksinasjon per rad på arket «Vaksinasjoner», fra rad 2. Ikke endre eller flytt overskriftsraden.",
	"Påkrevde kolonner (uthevet overskrift): {required}. Rader der en av dem mangler, blir avvist.",
	"Anbefalte kolonner: {recommended}. Tomme celler her gir en advarsel, men raden blir registrert.",
	"Velg en celle for å se hva som skal stå der. Overskriftene har også en kommentar med forklaring.",
	"",
	"# Verdiene",
	"Fødselsnummer: fødselsnummer eller D-nummer (11 siffer) eller DUF-nummer (12 siffer). Kolonnen er formatert som tekst, så Excel beholder ledende null. Limer du inn fra et annet program, bruk «Lim inn utvalg > Bare verdier» slik at tekstformatet beholdes.",
	"Vaksinasjonsdato: skriv datoen som dd.mm.åååå (for eksempel 17.05.2024). Datoen kan ikke være fram i tid.",
	"Vaksinekode: velg SYSVAK-koden fra nedtrekkslista (pila til høyre for cellen).",
	"Dosenummer: et helt tall fra 1 til 20. Batchnummer: står på pakningen. Vaksinatør HPR-nummer: 1–9 siffer.",
	"Helseenhet: organisasjonsnummer (9 siffer) eller HER-id. Kommunenummer: 4 siffer, for eksempel 0301.",
	"Gitt annet sted: Ja hvis vaksinen ble gitt et annet sted og registreres i ettertid, ellers Nei eller tomt.",
	"Handling: R (eller tomt) registrerer vaksinasjonen. S sletter en tidligere registrering med samme fødselsnummer, dato og vaksinekode.",
	"Sjekk fila før du sender den: sysvak-import validate fila.xlsx (med --annotate merket.xlsx får du en kopi der feilene er markert).",
	"",
	"# Kryptering og sending",
	"Fila inneholder helseopplysninger og skal alltid krypteres med passord før den sendes.",
	"I Excel: Fil > Info > Beskytt arbeidsbok > Krypter med passord. Velg et langt passord (minst 12 tegn) og lagre fila.",
	"Eller med programmet: sysvak-import encrypt fila.xlsx fila-kryptert.xlsx. Det lager et sterkt passord og skriver det ut.",
	"Send den krypterte fila på e-post.",
	"Passordet sendes på SMS, aldri på e-post, og aldri i samme melding som fila.",
}

// guidePartialNB is added when the code list in use is the built-in, incomplete one.
const guidePartialNB = "Lista over vaksinekoder i denne malen er ufullstendig. Mangler koden du trenger, skriv den gjeldende SYSVAK-koden (Volven, kodeverk 9501) direkte i cellen."
