package mailbox

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"

	"github.com/emersion/go-message/charset"
)

// receiptHeaders are the top-level header fields receipts need (SPEC 10: never answer an
// auto-generated message) that the IMAP envelope does not carry.
type receiptHeaders struct {
	returnPath, autoSubmitted, precedence string
	// from and replyTo are the first addresses of those fields, for when the server's envelope
	// has none (go-imap's in-memory server leaves From empty beside an RFC 2047 display name).
	from, replyTo string
}

// maxHeaderTap bounds the header bytes kept while the message streams into the extractor.
const maxHeaderTap = 64 << 10

// headerTap passes a message through and keeps a copy of its top-level header block.
type headerTap struct {
	r    io.Reader
	buf  bytes.Buffer
	done bool
	err  error // the first read error other than io.EOF (the connection broke)
}

func (t *headerTap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	if !t.done && n > 0 {
		room := maxHeaderTap - t.buf.Len()
		t.buf.Write(p[:min(n, room)])
		b := t.buf.Bytes()
		if bytes.Contains(b, []byte("\r\n\r\n")) || bytes.Contains(b, []byte("\n\n")) || t.buf.Len() >= maxHeaderTap {
			t.done = true
		}
	}
	return n, err
}

// headers parses the kept header block (empty fields when it cannot be read).
func (t *headerTap) headers() receiptHeaders {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(t.buf.Bytes(), "\r\n\r\n"...))))
	h, err := tp.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return receiptHeaders{}
	}
	rh := receiptHeaders{
		autoSubmitted: strings.TrimSpace(h.Get("Auto-Submitted")),
		precedence:    strings.TrimSpace(h.Get("Precedence")),
	}
	dec := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader}}
	for _, f := range []struct {
		name string
		to   *string
	}{{"From", &rh.from}, {"Reply-To", &rh.replyTo}} {
		if list, err := dec.ParseList(h.Get(f.name)); err == nil && len(list) > 0 {
			*f.to = list[0].Address
		}
	}
	if rp := strings.TrimSpace(h.Get("Return-Path")); rp != "" {
		if rp == "<>" {
			rh.returnPath = "<>"
		} else if a, err := mail.ParseAddress(rp); err == nil {
			rh.returnPath = a.Address
		} else {
			rh.returnPath = strings.Trim(rp, "<>")
		}
	}
	return rh
}
