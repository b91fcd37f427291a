// Package mime finds the attachments of an e-mail message (SPEC 6, issue 4 "Fetch safely"): it
// streams the message once (straight from the IMAP literal), descends nested multiparts and
// forwarded messages (message/rfc822) to a bounded depth, and writes every part that has a file
// name (Content-Disposition filename or Content-Type name, RFC 2231/2047 decoded; parts marked
// inline count, as Apple Mail sends them) or a non-text content type to a 0600 temp file while
// hashing it (SHA-256), in bounded memory. Whether a part is taken is decided by its CONTENT
// (a Sniffer looking at the first bytes), never by its name or declared type. Parts that are not
// taken are reported as Skipped with a reason (unsupported, too large, unreadable, too many
// parts, too deep), never as an error: errors are reserved for I/O failures of the source or the
// temp folder and for a cancelled context.
//
// File names are sanitised (SanitizeFileName) for display and metadata; they never name a file
// on disk.
package mime
