package receipt

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/validate"
)

// MaxFindings caps the findings a receipt lists; the rest are counted ("... and N more").
const MaxFindings = 100

// words are the fixed texts of a receipt in one language.
type words struct {
	lang                                                  string
	subjectFile, subjectRejected                          string
	waiting, waitingWrong, processed, rejected, rejectedB string
	statusLabel, rows, registered, rejectedRows, dupFile  string
	dupLedger, warnings, notRegistered, findingsHead      string
	noFindings, more, row, fileLevel, column, attachment  string
	annotated, footer, fileLabel                          string
	statuses                                              map[report.Status]string
}

var wordsNB = words{
	lang:            validate.LangNB,
	subjectFile:     "Kvittering for fil %s",
	subjectRejected: "Kvittering: e-posten ble avvist",
	waiting: "Vi har mottatt filen med id %s. Den er kryptert, og vi venter på passordet på SMS.\n" +
		"Filen blir behandlet så snart passordet er kommet.",
	waitingWrong: "Vi har mottatt filen med id %s, men passordet vi har fått, åpner den ikke.\n" +
		"Filen venter. Send riktig passord på SMS.",
	processed:   "Filen med id %s er behandlet.",
	rejected:    "E-posten din ble avvist, og ingenting fra den er lest inn.",
	rejectedB:   "Hvorfor:",
	statusLabel: "Status", rows: "Rader lest", registered: "Registrert", rejectedRows: "Avvist (feil)",
	dupFile: "Dubletter i filen", dupLedger: "Allerede registrert tidligere", warnings: "Advarsler",
	notRegistered: "Ikke registrert (streng kontroll)", findingsHead: "Funn (rad, kolonne, kode: melding):",
	noFindings: "Ingen funn.", more: "... og %d funn til (hele rapporten ligger hos FHI).",
	row: "rad", fileLevel: "filen", column: "kolonne", attachment: "vedlegg %d",
	annotated: "Vedlagt er en merket kopi av filen, kryptert med det samme passordet som filen hadde.",
	footer: "Dette er et automatisk svar; svar ikke på denne e-posten. Av hensyn til personvernet\n" +
		"inneholder kvitteringen ingen personopplysninger og ingen verdier fra filen.",
	fileLabel: "Fil-id",
	statuses: map[report.Status]string{
		report.StatusAccepted: "godtatt", report.StatusAcceptedWithWarnings: "godtatt med advarsler",
		report.StatusRejectedRows: "godtatt, men noen rader er avvist", report.StatusFileRejected: "filen er avvist",
		report.StatusWaitingPassword: "venter på passord",
	},
}

var wordsEN = words{
	lang:            validate.LangEN,
	subjectFile:     "Receipt for file %s",
	subjectRejected: "Receipt: your message was rejected",
	waiting: "We have received the file with id %s. It is encrypted, and we are waiting for the password by SMS.\n" +
		"The file will be processed as soon as the password has arrived.",
	waitingWrong: "We have received the file with id %s, but the password we were given does not open it.\n" +
		"The file is waiting. Send the right password by SMS.",
	processed:   "The file with id %s has been processed.",
	rejected:    "Your message was rejected, and nothing from it has been read in.",
	rejectedB:   "Why:",
	statusLabel: "Status", rows: "Rows read", registered: "Registered", rejectedRows: "Rejected (errors)",
	dupFile: "Duplicates within the file", dupLedger: "Already registered earlier", warnings: "Warnings",
	notRegistered: "Not registered (strict mode)", findingsHead: "Findings (row, column, code: message):",
	noFindings: "No findings.", more: "... and %d more findings (the full report is kept at FHI).",
	row: "row", fileLevel: "file", column: "column", attachment: "attachment %d",
	annotated: "Attached is a marked-up copy of the file, encrypted with the same password as the file.",
	footer: "This is an automatic reply; please do not answer it. To protect privacy the receipt\n" +
		"holds no personal data and no values from the file.",
	fileLabel: "File id",
	statuses: map[report.Status]string{
		report.StatusAccepted: "accepted", report.StatusAcceptedWithWarnings: "accepted with warnings",
		report.StatusRejectedRows: "accepted, but some rows were rejected", report.StatusFileRejected: "file rejected",
		report.StatusWaitingPassword: "waiting for a password",
	},
}

// body writes the text of a receipt in one language.
func (in *Input) body(b *strings.Builder, w words) {
	switch in.Kind {
	case KindWaiting:
		tmpl := w.waiting
		if in.WrongPassword {
			tmpl = w.waitingWrong
		}
		fmt.Fprintf(b, tmpl+"\n", in.FileID)
	case KindProcessed:
		in.processedBody(b, w)
	case KindRejected:
		b.WriteString(w.rejected + "\n\n" + w.rejectedB + "\n")
		for _, r := range in.Reasons {
			line := "- "
			if r.Attachment > 0 {
				line += fmt.Sprintf(w.attachment, r.Attachment) + ": "
			}
			b.WriteString(line + SafeMessage(w.lang, validate.Finding{Code: r.Code, Args: r.Args}) + "\n")
		}
	}
	if in.Annotated != nil && in.Kind == KindProcessed {
		b.WriteString("\n" + w.annotated + "\n")
	}
	b.WriteString("\n" + w.footer + "\n")
}

func (in *Input) processedBody(b *strings.Builder, w words) {
	r := in.Report
	fmt.Fprintf(b, w.processed+"\n\n", in.FileID)
	line := func(label string, v string) { fmt.Fprintf(b, "%-31s %s\n", label+":", v) }
	line(w.statusLabel, w.statuses[r.Status])
	if r.Status != report.StatusFileRejected {
		line(w.rows, strconv.Itoa(r.Stats.Rows))
		line(w.registered, strconv.Itoa(r.Stats.Registered))
		line(w.rejectedRows, strconv.Itoa(r.Stats.Rejected))
		line(w.dupFile, strconv.Itoa(r.Stats.DuplicatesInFile))
		line(w.dupLedger, strconv.Itoa(r.Stats.DuplicatesInLedger))
		if r.Stats.NotRegistered > 0 {
			line(w.notRegistered, strconv.Itoa(r.Stats.NotRegistered))
		}
	}
	line(w.warnings, strconv.Itoa(r.Stats.Warnings))
	b.WriteString("\n")
	if len(r.Findings) == 0 {
		b.WriteString(w.noFindings + "\n")
		return
	}
	b.WriteString(w.findingsHead + "\n")
	for i, f := range r.Findings {
		if i == MaxFindings {
			fmt.Fprintf(b, w.more+"\n", len(r.Findings)-MaxFindings)
			break
		}
		where := w.fileLevel
		if f.Row > 0 {
			where = w.row + " " + strconv.Itoa(f.Row)
		}
		if col := columnName(w.lang, f.Column); col != "" {
			where += ", " + w.column + " " + col
		}
		fmt.Fprintf(b, "- %s, %s: %s\n", where, f.Code, SafeMessage(w.lang, f))
	}
}

// columnName is the column as a receipt names it: the template's header in Norwegian, the key
// in English; "" for anything that is not a column of the layout (never text from the file).
func columnName(lang, key string) string {
	for _, c := range validate.Layout() {
		if c.Key == key {
			if lang == validate.LangEN {
				return key
			}
			return c.Header
		}
	}
	return ""
}

// safeArgs are the message arguments a receipt may show, none of them from the file's contents:
// a kind of number, dates of our own (as-of, code validity), limits, row numbers, file ids and
// names of our columns. Everything else (the cell value, the birth date in an ID, headers and
// sheet names found in the file, details) is left out.
var safeArgs = map[string]bool{"type": true, "asof": true, "from": true, "to": true, "limit": true,
	"row": true, "file": true, "differs": true}

var (
	emptyQuotes = regexp.MustCompile(`«\s*»|"\s*"|“\s*”|'\s*'|\(\s*\)`)
	spaces      = regexp.MustCompile(`[ \t]{2,}`)
	spacePunct  = regexp.MustCompile(` ([.,;:)])(\s|$)`)
)

// SafeMessage is a finding's message in lang with every value left out: the cell value, and any
// argument that could carry text or digits from the file.
func SafeMessage(lang string, f validate.Finding) string {
	g := validate.Finding{Row: f.Row, Column: f.Column, Code: f.Code, Severity: f.Severity}
	g.Args = validate.Args{}
	for k, v := range f.Args {
		if safeArgs[k] || (k == "column" && f.Code == validate.FileColumnMissing) {
			g.Args[k] = v
		}
	}
	if f.Code == validate.FileColumnMissing {
		g.Args["column"] = knownColumns(f.Args["column"])
	}
	validate.Localize(lang, &g)
	s := emptyQuotes.ReplaceAllString(g.Message, "")
	s = spaces.ReplaceAllString(s, " ")
	s = strings.TrimSpace(spacePunct.ReplaceAllString(s, "$1$2"))
	if r, size := utf8.DecodeRuneInString(s); unicode.IsLower(r) {
		s = string(unicode.ToUpper(r)) + s[size:]
	}
	return s
}

// knownColumns keeps, from a comma-separated list of column names, those that are the layout's
// own headers or keys.
func knownColumns(list string) string {
	var keep []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		for _, c := range validate.Layout() {
			if strings.EqualFold(name, c.Header) || strings.EqualFold(name, c.Key) {
				keep = append(keep, name)
				break
			}
		}
	}
	return strings.Join(keep, ", ")
}
