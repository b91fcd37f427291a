package receipt

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/fhi/sysvak-import/importer/annotate"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// AnnotatedFor makes the attachment of `--receipts annotated`: the annotated copy of the plain
// (decrypted) workbook, in Norwegian, encrypted with Office agile encryption under pw, the
// password that opened the file. A file that was not encrypted (empty pw) gets no attachment: a
// receipt never carries a workbook in the clear.
func AnnotatedFor(ctx context.Context, plain io.ReaderAt, size int64, findings []validate.Finding, pw secret.Secret) (*Annotated, error) {
	if pw.Empty() {
		return nil, nil
	}
	var marked bytes.Buffer
	if err := annotate.WriteWith(ctx, plain, size, findings, &marked, annotate.Options{Lang: validate.LangNB}); err != nil {
		return nil, fmt.Errorf("receipt: annotate: %w", err)
	}
	var enc bytes.Buffer
	if err := decrypt.EncryptOfficeAgile(ctx, marked.Bytes(), pw, &enc); err != nil {
		return nil, fmt.Errorf("receipt: encrypt the annotated copy: %w", err)
	}
	return &Annotated{Encrypted: enc.Bytes()}, nil
}
