// Package console owns the operator console of SPEC 9: the web pages an FHI operator works in
// (file list, file page with the report as people read it, the unlock form, report downloads),
// operator sign-in (Argon2id password hashes, throttling and lockout, sessions, CSRF tokens), the
// security headers, the audit entries of logins, unlocks and downloads, /healthz and /metrics.
//
// It renders server-side with html/template and embedded assets (no JavaScript framework; one
// small progressive-enhancement script). It declares the small interfaces it consumes (Files,
// Unlocker, Operators, AuditLog, PollStatus) so that any state backend and the intake service can
// stand behind it; it never reads the state folder itself.
//
// Privacy: pages show file ids, file names, senders, counts, finding codes, row numbers and
// messages. Finding values are never shown (a value may be part of an ID number or a name), and no
// password, ID number or name reaches a page, a download, a log line or an audit entry.
package console
