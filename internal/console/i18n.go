package console

import (
	"net/url"

	"github.com/fhi/sysvak-import/importer/report"
)

// The console speaks Norwegian bokmål by default and English with ?lang=en (SPEC 9).
const (
	langNB = "nb"
	langEN = "en"
)

// langOf returns the page language asked for in the query.
func langOf(q url.Values) string {
	if q.Get("lang") == langEN {
		return langEN
	}
	return langNB
}

// text holds every fixed word of the pages, by key, in both languages.
var text = map[string][2]string{ // [nb, en]
	"app":             {"SYSVAK-import", "SYSVAK import"},
	"console":         {"Operatørkonsoll", "Operator console"},
	"skip":            {"Hopp til innholdet", "Skip to content"},
	"login.title":     {"Logg inn", "Sign in"},
	"login.username":  {"Brukernavn", "User name"},
	"login.password":  {"Passord", "Password"},
	"login.submit":    {"Logg inn", "Sign in"},
	"login.failed":    {"Innloggingen mislyktes: feil brukernavn eller passord, eller kontoen er midlertidig låst etter for mange feilforsøk (5 forsøk gir 15 minutters sperre).", "Sign-in failed: wrong user name or password, or the account is locked for a while after too many failed attempts (5 attempts lock it for 15 minutes)."},
	"login.throttled": {"For mange innloggingsforsøk fra denne adressen. Vent noen minutter og prøv igjen.", "Too many sign-in attempts from this address. Wait a few minutes and try again."},
	"login.expired":   {"Økten er utløpt. Logg inn igjen.", "Your session has ended. Please sign in again."},
	"login.hint":      {"Kontoer opprettes med «sysvak-import operator add NAVN».", "Accounts are created with “sysvak-import operator add NAME”."},
	"logout":          {"Logg ut", "Sign out"},
	"signed_in_as":    {"Innlogget som", "Signed in as"},
	"lang.other":      {"English", "Norsk"},
	"files":           {"Filer", "Files"},
	"filter":          {"Vis status", "Show status"},
	"all":             {"Alle", "All"},
	"col.id":          {"Fil-id", "File id"},
	"col.name":        {"Filnavn", "File name"},
	"col.received":    {"Mottatt", "Received"},
	"col.sender":      {"Avsender", "Sender"},
	"col.source":      {"Kilde", "Source"},
	"col.status":      {"Status", "Status"},
	"col.rows":        {"Rader", "Rows"},
	"col.registered":  {"Registrert", "Registered"},
	"col.rejected":    {"Avvist", "Rejected"},
	"source.mailbox":  {"e-post", "e-mail"},
	"source.local":    {"lokal fil", "local file"},
	"page.prev":       {"Nyere", "Newer"},
	"page.next":       {"Eldre", "Older"},
	"page.of":         {"Side %d av %d (%d filer)", "Page %d of %d (%d files)"},
	"empty.title":     {"Ingen filer ennå", "No files yet"},
	"empty.text":      {"Filer kommer inn når konsollen henter e-post (start «sysvak-import serve» med --imap-addr), når «sysvak-import poll» kjører mot samme tilstand, eller med «sysvak-import import FIL».", "Files arrive when the console fetches mail (start “sysvak-import serve” with --imap-addr), when “sysvak-import poll” runs on the same state, or with “sysvak-import import FILE”."},
	"empty.filter":    {"Ingen filer har denne statusen.", "No file has this status."},
	"empty.showall":   {"Vis alle filer", "Show all files"},
	"back":            {"Tilbake til fillisten", "Back to the file list"},
	"file.title":      {"Fil", "File"},
	"file.arrivals":   {"Mottak", "Arrivals"},
	"file.first":      {"første", "first"},
	"file.resent":     {"sendt på nytt", "sent again"},
	"file.totals":     {"Totalt", "Totals"},
	"tot.rows":        {"Rader lest", "Rows read"},
	"tot.registered":  {"Registrert", "Registered"},
	"tot.rejected":    {"Avvist (feil)", "Rejected (errors)"},
	"tot.dupfile":     {"Dubletter i filen", "Duplicates within the file"},
	"tot.dupledger":   {"Allerede registrert tidligere", "Already registered earlier"},
	"tot.warnings":    {"Advarsler", "Warnings"},
	"tot.notreg":      {"Ikke registrert (--strict)", "Not registered (--strict)"},
	"findings":        {"Funn per kode", "Findings by code"},
	"filelevel":       {"Feil i filen som helhet", "Problems with the file as a whole"},
	"nofindings":      {"Ingen funn.", "No findings."},
	"noreport":        {"Filen er ikke behandlet ennå.", "The file has not been processed yet."},
	"f.severity":      {"Alvorlighet", "Severity"},
	"f.code":          {"Kode", "Code"},
	"f.column":        {"Kolonne", "Column"},
	"f.count":         {"Antall", "Count"},
	"f.rows":          {"Rader", "Rows"},
	"f.message":       {"Melding", "Message"},
	"f.hint":          {"Slik retter du", "How to fix"},
	"f.more":          {"flere", "more"},
	"sev.error":       {"feil", "error"},
	"sev.warning":     {"advarsel", "warning"},
	"downloads":       {"Last ned rapport", "Download the report"},
	"unlock.title":    {"Lås opp med passordet fra SMS", "Unlock with the password from the SMS"},
	"unlock.text":     {"Filen venter på passordet. Skriv det inn, så behandles filen med en gang.", "The file waits for its password. Type it in and the file is processed at once."},
	"unlock.password": {"Passord fra SMS", "Password from the SMS"},
	"unlock.submit":   {"Lås opp og behandle", "Unlock and process"},
	"unlock.wrong":    {"Feil passord. Filen venter fortsatt; prøv igjen med passordet fra SMS-en.", "Wrong password. The file is still waiting; try again with the password from the SMS."},
	"unlock.lasterr":  {"Forrige forsøk: feil passord.", "Last attempt: wrong password."},
	"unlock.done":     {"Filen er låst opp og behandlet. Status: %s.", "The file was unlocked and processed. Status: %s."},
	"unlock.notwait":  {"Filen venter ikke på passord.", "The file does not wait for a password."},
	"unlock.empty":    {"Skriv inn passordet.", "Type the password."},
	"err.title":       {"Noe gikk galt", "Something went wrong"},
	"err.notfound":    {"Siden eller filen finnes ikke.", "There is no such page or file."},
	"err.csrf":        {"Skjemaet var utløpt eller ugyldig. Gå tilbake, last siden på nytt og prøv igjen.", "The form had expired or was not valid. Go back, reload the page and try again."},
	"err.internal":    {"En intern feil oppstod. Prøv igjen; hendelsen er logget.", "An internal error occurred. Try again; it has been logged."},
	"err.method":      {"Metoden er ikke tillatt.", "Method not allowed."},
}

// statusText names a file status for people.
var statusText = map[report.Status][2]string{
	report.StatusWaitingPassword:      {"venter på passord", "waiting for its password"},
	report.StatusAccepted:             {"godtatt", "accepted"},
	report.StatusAcceptedWithWarnings: {"godtatt med advarsler", "accepted with warnings"},
	report.StatusRejectedRows:         {"noen rader avvist", "some rows rejected"},
	report.StatusFileRejected:         {"filen avvist", "file rejected"},
}

// stageText names a stage for the filter (and for a file not processed yet).
var stageText = map[Stage][2]string{
	StageWaiting:    {"venter på passord", "waiting for its password"},
	StageRejected:   {"avvist", "rejected"},
	StageProcessed:  {"behandlet", "processed"},
	StageArrived:    {"mottatt, ikke behandlet", "received, not processed yet"},
	StageProcessing: {"behandles nå", "being processed"},
}

// stageOrder is the order of the status filter.
var stageOrder = []Stage{StageWaiting, StageRejected, StageProcessed, StageArrived, StageProcessing}

func idx(lang string) int {
	if lang == langEN {
		return 1
	}
	return 0
}

func tr(lang, key string) string {
	if t, ok := text[key]; ok {
		return t[idx(lang)]
	}
	return key
}

func stageName(lang string, s Stage) string {
	if t, ok := stageText[s]; ok {
		return t[idx(lang)]
	}
	return string(s)
}

// fileLabel is what the badge of a file says: its outcome, or its stage before it has one.
func fileLabel(lang string, f FileSummary) string {
	if f.Status != "" {
		return statusName(lang, f.Status)
	}
	return stageName(lang, f.Stage)
}

// fileBadge is the badge's CSS class suffix.
func fileBadge(f FileSummary) string {
	if f.Status != "" {
		return string(f.Status)
	}
	return string(f.Stage)
}

func statusName(lang string, s report.Status) string {
	if t, ok := statusText[s]; ok {
		return t[idx(lang)]
	}
	return string(s)
}
