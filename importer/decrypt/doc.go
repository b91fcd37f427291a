// Package decrypt owns the container stage between "a file arrived" and "rows are read"
// (SPEC 1.1, issue 3, validation-rules.md "File level"):
//
//   - Sniff and Detect recognise a received file by its bytes, never by its name: a plain
//     Office Open XML workbook (zip), an ECMA-376 password-encrypted workbook (OLE compound file
//     with an EncryptionInfo stream), a legacy .xls, an OpenPGP message (binary or armored), or
//     something unsupported, described in words (PDF, ODS, CSV, image ...).
//   - Unwrap removes the encryption layers (OpenPGP passphrase messages, Office agile and
//     standard encryption, or both nested) in memory and returns the plain zip workbook. It
//     verifies the password where the format allows, so that a wrong password
//     (file.wrong_password), a damaged file (file.corrupt), a failed integrity check
//     (file.integrity) and a limit (file.too_large) are told apart, and it refuses hostile
//     parameters (Argon2 memory, spin counts, sizes) before spending memory on them.
//   - EncryptOffice, EncryptPGP and GeneratePassword serve the vaccinators' `encrypt` command.
//
// Every failure is a *Error carrying a validate.Code. Error texts never contain a password or
// any plaintext. Nothing is written to disk.
package decrypt
