// Package receipt owns the receipts sysvak-import sends to the people who mailed a file (SPEC 10):
// what a receipt says (Norwegian bokmål, then the same in English), for a file that waits for its
// password, a file that has been processed, and a message that was rejected; the rules for who
// gets one (never a machine: RFC 3834) and the stable Message-ID that makes each receipt unique
// per message and outcome; the MIME form of the message (with the annotated workbook, encrypted
// under the file's own password, when asked); the SMTP submission (emersion/go-smtp, verified TLS,
// AUTH PLAIN/LOGIN or a SASL client from outside); and the outbox worker that sends queued
// receipts with backoff and gives up visibly.
//
// A receipt carries no personal data: no ID number or part of one, no name, no cell value, no file
// name and nothing else copied from the file or the original message. Findings appear as row,
// column, code and the message's own words with every value left out.
package receipt
