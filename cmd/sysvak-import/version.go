package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/fhi/sysvak-import/validate"
)

// version and commit are set at build time (-ldflags "-X main.version=1.2.3 -X
// main.commit=abc123"); without them the Go build information is used.
var (
	version = ""
	commit  = ""
)

// printVersion writes the version, the commit and the built-in code list's version (SPEC 4
// `--version`).
func printVersion(w io.Writer) {
	v, c, modified := version, commit, false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	} else if modified {
		c += " (modified)"
	}
	codes := validate.DefaultCodes()
	partial := ""
	if codes.Partial() {
		partial = ", partial"
	}
	fmt.Fprintf(w, "sysvak-import %s\ncommit %s\ncode list: built-in (%s%s); --codes FILE replaces it\n", v, c, codes.Version(), partial)
}
