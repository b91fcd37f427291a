package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress prints rows read and the rate on stderr, on one line rewritten in place. It is only
// used on a terminal with text output (never in pipes or JSON mode).
type progress struct {
	w     io.Writer
	lang  string
	name  string
	start time.Time
	now   func() time.Time
	shown bool
}

func (p *progress) begin(name string) {
	p.name, p.start, p.shown = name, p.now(), false
}

// update is importer.Options.Progress: called every few thousand rows.
func (p *progress) update(rows int) {
	el := p.now().Sub(p.start).Seconds()
	if el < 0.5 {
		return // small files finish before a progress line would help
	}
	p.shown = true
	rate := float64(rows) / el
	fmt.Fprintf(p.w, "\r\033[K%s: %s %s (%s %s)", p.name, groupDigits(rows), msg(p.lang, "rader lest", "rows read"),
		groupDigits(int(rate)), msg(p.lang, "rader/s", "rows/s"))
}

// end clears the progress line.
func (p *progress) end() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// groupDigits writes n with thin groups of three digits (123 456), as Norwegian does.
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}
