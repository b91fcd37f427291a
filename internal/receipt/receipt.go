package receipt

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/validate"
)

// Kind is the outcome a receipt reports. A message gets at most one receipt per kind and file.
type Kind string

// The kinds of receipt (SPEC 10).
const (
	KindWaiting   Kind = "waiting_password" // a file arrived and waits for its password
	KindProcessed Kind = "processed"        // a file has been processed (any status but waiting)
	KindRejected  Kind = "rejected"         // a message was rejected: no usable attachment
)

// Reason is one reason a message was rejected: a finding code (mail.no_attachment,
// file.unsupported_format, file.too_large, ...) and the attachment it concerns (1-based, 0 for the
// message as a whole). Args may hold "limit"; anything else is left out of the receipt.
type Reason struct {
	Code       validate.Code
	Attachment int
	Args       validate.Args
}

// Annotated is the annotated workbook attached to a processed-file receipt under `--receipts
// annotated`: already encrypted (Office agile encryption) under the password that opened the file.
type Annotated struct {
	Encrypted []byte
}

// Input is everything a receipt is made from.
type Input struct {
	Kind   Kind
	FileID string // for KindWaiting and KindProcessed
	Origin Origin // the message answered
	From   string // the receipt's sender (--receipt-from)
	To     string // the recipient: Origin.Recipient
	Date   time.Time
	// Report is the processed file's report (status, stats, findings) for KindProcessed.
	Report *report.Report
	// WrongPassword says, for KindWaiting, that a password was tried and did not open the file.
	WrongPassword bool
	// Reasons say why, for KindRejected.
	Reasons   []Reason
	Annotated *Annotated
}

// Message is a rendered receipt, ready to queue: the outbox keeps Data as it is, so that a resend
// is byte-for-byte the same message with the same Message-ID.
type Message struct {
	ID      string // Message-ID, with angle brackets; the outbox key
	Kind    Kind
	FileID  string
	From    string // envelope and header sender
	To      string // envelope and header recipient
	Subject string
	Data    []byte // the whole message, CRLF line ends
}

// ID returns the stable Message-ID of the receipt of kind k for file fileID answering the message
// o (its Message-ID, or Ref when it had none), in the domain of from. The same inputs always give
// the same id, so a receipt queued twice is one receipt, and a resend after a crash is recognised.
func ID(k Kind, fileID string, o Origin, from string) string {
	ref := strings.Trim(strings.TrimSpace(o.MessageID), "<>")
	if ref == "" {
		ref = "ref:" + o.Ref
	}
	sum := sha256.Sum256([]byte("sysvak-import receipt\x00" + string(k) + "\x00" + fileID + "\x00" + ref))
	domain := "sysvak-import.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	return "<receipt." + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// Errors of Render.
var ErrInput = errors.New("receipt: incomplete input")

// Render makes the receipt message. The text is Norwegian (bokmål), then the same in English.
func Render(in Input) (Message, error) {
	if err := in.check(); err != nil {
		return Message{}, err
	}
	m := Message{ID: ID(in.Kind, in.FileID, in.Origin, in.From), Kind: in.Kind, FileID: in.FileID, From: in.From, To: in.To}
	if in.Kind == KindRejected {
		m.Subject = wordsNB.subjectRejected + " / " + wordsEN.subjectRejected
	} else {
		m.Subject = fmt.Sprintf(wordsNB.subjectFile, in.FileID) + " / " + fmt.Sprintf(wordsEN.subjectFile, in.FileID)
	}
	var text strings.Builder
	in.body(&text, wordsNB)
	text.WriteString("\n---- English ----\n\n")
	in.body(&text, wordsEN)

	var b bytes.Buffer
	h := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	h("From", (&mail.Address{Name: "SYSVAK-import", Address: in.From}).String())
	h("To", (&mail.Address{Address: in.To}).String())
	h("Subject", m.Subject)
	h("Date", in.Date.Format(time.RFC1123Z))
	h("Message-ID", m.ID)
	if ref := msgIDHeader(in.Origin.MessageID); ref != "" {
		h("In-Reply-To", ref)
		h("References", ref)
	}
	h("Auto-Submitted", "auto-replied")
	h("X-Auto-Response-Suppress", "All")
	h("Precedence", "auto_reply")
	h("Content-Language", "nb, en")
	h("MIME-Version", "1.0")
	if in.Annotated == nil || in.Kind != KindProcessed {
		writeTextPart(&b, text.String())
	} else {
		boundary := "receipt-" + strings.TrimSuffix(strings.TrimPrefix(m.ID, "<receipt."), ">")
		boundary = strings.NewReplacer("@", "-", ".", "-").Replace(boundary)
		h("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
		b.WriteString("\r\n--" + boundary + "\r\n")
		writeTextPart(&b, text.String())
		b.WriteString("\r\n--" + boundary + "\r\n")
		writeAttachment(&b, in.FileID+"-merket.xlsx", in.Annotated.Encrypted)
		b.WriteString("\r\n--" + boundary + "--\r\n")
	}
	m.Data = b.Bytes()
	return m, nil
}

// msgIDHeader is a Message-ID as a header holds it: in angle brackets (an IMAP envelope gives
// it without them); "" for none or one that would break the header.
func msgIDHeader(id string) string {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	if id == "" || strings.ContainsAny(id, "\r\n<> ") {
		return ""
	}
	return "<" + id + ">"
}

func (in Input) check() error {
	switch {
	case in.From == "" || in.To == "":
		return fmt.Errorf("%w: sender and recipient are required", ErrInput)
	case in.Kind != KindRejected && !fileIDRe(in.FileID):
		return fmt.Errorf("%w: a file id is 16 lower-case hex digits", ErrInput)
	case in.Kind == KindProcessed && in.Report == nil:
		return fmt.Errorf("%w: a processed-file receipt needs the report", ErrInput)
	case in.Kind == KindRejected && len(in.Reasons) == 0:
		return fmt.Errorf("%w: a rejection receipt needs a reason", ErrInput)
	case in.Kind != KindWaiting && in.Kind != KindProcessed && in.Kind != KindRejected:
		return fmt.Errorf("%w: unknown kind %q", ErrInput, in.Kind)
	case in.Date.IsZero():
		return fmt.Errorf("%w: date", ErrInput)
	}
	return nil
}

func fileIDRe(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// writeTextPart writes the headers and quoted-printable body of a text/plain part.
func writeTextPart(b *bytes.Buffer, text string) {
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
}

// writeAttachment writes a base64 attachment part, lines of 76 characters.
func writeAttachment(b *bytes.Buffer, name string, data []byte) {
	b.WriteString("Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n")
	b.WriteString(`Content-Disposition: attachment; filename="` + name + "\"\r\n")
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
}
