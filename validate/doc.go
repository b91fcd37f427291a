// Package validate owns the rules of a filimport row: the column layout (layout v1 of
// shared/reference/filimport-columns.md), the normalisation of cell text (SPEC 1.4), Norwegian
// person identifiers exactly as shared/reference/ids.md defines them (fødselsnummer with the 2032
// control-digit rule, D-nummer, DUF-nummer; H-nummer, felles hjelpenummer, NPID and synthetic
// numbers recognised and refused), dates, the SYSVAK code list, and the finding codes and messages
// of shared/reference/validation-rules.md.
//
// It is pure: no file, network or clock access. "Today" is always passed in (as-of date).
// It imports nothing of this module.
package validate
