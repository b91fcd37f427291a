package decrypt

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// Limits bound what Unwrap will spend on one file. A zero field takes its default.
type Limits struct {
	// MaxFileSize is the largest file accepted as received (SPEC 1.1: 50 MiB).
	MaxFileSize int64
	// MaxPlainSize bounds each decrypted layer held in memory. The plaintext of a layer is a zip
	// workbook (already compressed), so it is about as large as the file; the default (0) of
	// 2 x MaxFileSize leaves room for OpenPGP compression of a workbook with stored parts, and
	// follows MaxFileSize when an operator raises it.
	MaxPlainSize int64
	// MaxUnzipSize bounds the declared uncompressed size of the decrypted zip when Unwrap checks
	// its CRCs (standard encryption has no MAC). Default 1 GiB (SPEC 1.1).
	MaxUnzipSize int64
	// MaxArgon2MemoryKiB refuses OpenPGP Argon2 S2K parameters above this memory (default
	// 256 MiB = 2^18 KiB: four times the 64 MiB that gpg and go-crypto use by default, so
	// every real producer passes, while one file cannot take more than a bounded share of the
	// poller's 24 GiB even if a few are decrypted at once; RFC 9580's first recommendation of
	// 2 GiB must be allowed explicitly).
	MaxArgon2MemoryKiB uint32
	// MaxArgon2Passes refuses Argon2 with more passes than this (default 8; go-crypto writes 3).
	MaxArgon2Passes uint8
	// MaxSpinCount refuses Office agile key derivations with more hash rounds (default
	// 10,000,000 as excelize; Excel writes 100,000, about 0.1 s).
	MaxSpinCount int
}

// DefaultLimits returns the limits used when a field is zero.
func DefaultLimits() Limits {
	return Limits{
		MaxFileSize:        50 << 20,
		MaxUnzipSize:       1 << 30,
		MaxArgon2MemoryKiB: 1 << 18,
		MaxArgon2Passes:    8,
		MaxSpinCount:       10_000_000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = d.MaxFileSize
	}
	if l.MaxPlainSize <= 0 {
		l.MaxPlainSize = 2 * l.MaxFileSize
	}
	if l.MaxUnzipSize <= 0 {
		l.MaxUnzipSize = d.MaxUnzipSize
	}
	if l.MaxArgon2MemoryKiB == 0 {
		l.MaxArgon2MemoryKiB = d.MaxArgon2MemoryKiB
	}
	if l.MaxArgon2Passes == 0 {
		l.MaxArgon2Passes = d.MaxArgon2Passes
	}
	if l.MaxSpinCount <= 0 {
		l.MaxSpinCount = d.MaxSpinCount
	}
	return l
}

// Plain is a plain zip workbook ready for the workbook reader. For a file that was not encrypted
// ReaderAt is the caller's reader; otherwise it reads a buffer in memory that Close wipes.
type Plain struct {
	ReaderAt io.ReaderAt
	Size     int64
	// Layers lists the encryption layers removed, outermost first: "openpgp",
	// "office-agile", "office-standard". Empty for a plain workbook.
	Layers []string
	// PasswordIndex is the index in the passwords given to Unwrap of the password that opened
	// the outermost layer (-1 when none was needed).
	PasswordIndex int

	buf []byte
}

// Close wipes the decrypted bytes. The Plain must not be used afterwards.
func (p *Plain) Close() error {
	if p == nil {
		return nil
	}
	wipe(p.buf)
	p.buf = nil
	p.ReaderAt = bytes.NewReader(nil)
	p.Size = 0
	return nil
}

// Unwrap turns a received file into a plain zip workbook, in memory, removing at most one
// OpenPGP layer and one Office encryption layer (in that order). passwords are tried in order on
// each layer; the inner layer tries the one that opened the outer layer first. Every failure is
// a *Error with a file-level code:
//
//	file.password_needed     encrypted, and no password given
//	file.wrong_password      no password opens it (verified where the format allows)
//	file.corrupt             damaged or truncated container
//	file.integrity           OpenPGP data not integrity-protected, or modified after encryption
//	file.too_large           over a Limits field (size, Argon2 memory, spin count, plaintext)
//	file.legacy_xls          an Excel 97-2003 file
//	file.unsupported_format  anything else; the Detail says what the file is
//
// Context cancellation is returned as the context's error. Nothing is written to disk.
func Unwrap(ctx context.Context, r io.ReaderAt, size int64, passwords []secret.Secret, lim Limits) (*Plain, error) {
	u := &unwrapper{readMessage: openpgp.ReadMessage}
	return u.unwrap(ctx, r, size, passwords, lim)
}

type unwrapper struct {
	readMessage readMessageFunc
}

func (u *unwrapper) unwrap(ctx context.Context, r io.ReaderAt, size int64, passwords []secret.Secret, lim Limits) (p *Plain, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			if p != nil {
				p.Close()
			}
			p, err = nil, newErr(validate.FileCorrupt, "the file could not be parsed", errors.New("panic while unwrapping"))
		}
	}()
	lim = lim.withDefaults()
	if size > lim.MaxFileSize {
		return nil, newErr(validate.FileTooLarge, fmt.Sprintf("the file has %d bytes, above the limit of %d", size, lim.MaxFileSize), nil)
	}
	if size < 0 {
		return nil, fmt.Errorf("decrypt: negative size")
	}
	pws := make([][]byte, 0, len(passwords))
	for _, s := range passwords {
		if !s.Empty() {
			pws = append(pws, s.Bytes())
		}
	}
	f, err := Detect(ctx, r, size)
	if err != nil {
		return nil, err
	}
	switch f.Kind {
	case PlainWorkbook:
		return &Plain{ReaderAt: r, Size: size, PasswordIndex: -1}, nil
	case LegacyXLS, Unsupported:
		return nil, formatErr(f.Code(), f.What, f)
	case OfficeEncrypted:
		info, pkg, err := oleStreams(r, size, lim.MaxFileSize)
		if err != nil {
			return nil, err
		}
		out, layer, idx, err := openOffice(ctx, info, pkg, pws, lim)
		if err != nil {
			return nil, err
		}
		p := &Plain{buf: out, ReaderAt: bytes.NewReader(out), Size: int64(len(out)), Layers: []string{layer}, PasswordIndex: idx}
		if err := checkZip(ctx, out, layer, lim); err != nil {
			p.Close()
			return nil, err
		}
		return p, nil
	case OpenPGP:
		raw := make([]byte, size)
		if _, err := r.ReadAt(raw, 0); err != nil && !(errors.Is(err, io.EOF) && len(raw) == int(size)) {
			return nil, fmt.Errorf("decrypt: read: %w", err)
		}
		bin := raw
		if !looksLikePGPBinary(raw) {
			if bin, err = dearmor(raw); err != nil {
				return nil, err
			}
		}
		plain, idx, err := u.openPGP(ctx, bin, pws, lim)
		if err != nil {
			return nil, err
		}
		return u.inner(ctx, plain, idx, pws, lim)
	}
	return nil, formatErr(validate.FileUnsupportedFormat, f.What, f)
}

// inner handles the plaintext of the OpenPGP layer: a plain workbook, or an Office-encrypted one.
func (u *unwrapper) inner(ctx context.Context, plain []byte, idx int, pws [][]byte, lim Limits) (*Plain, error) {
	f, err := Detect(ctx, bytes.NewReader(plain), int64(len(plain)))
	if err != nil {
		wipe(plain)
		var e *Error
		if errors.As(err, &e) {
			e.Detail = "inside the OpenPGP message: " + e.Detail
		}
		return nil, err
	}
	switch f.Kind {
	case PlainWorkbook:
		return &Plain{buf: plain, ReaderAt: bytes.NewReader(plain), Size: int64(len(plain)), Layers: []string{layerOpenPGP}, PasswordIndex: idx}, nil
	case OfficeEncrypted:
		r := bytes.NewReader(plain)
		info, pkg, err := oleStreams(r, int64(len(plain)), lim.MaxPlainSize)
		if err != nil {
			wipe(plain)
			return nil, err
		}
		order := append([][]byte{pws[idx]}, pws[:idx]...)
		order = append(order, pws[idx+1:]...)
		out, layer, _, err := openOffice(ctx, info, pkg, order, lim)
		wipe(plain)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Detail = "the OpenPGP layer opened, but the workbook inside is encrypted too: " + e.Detail
			}
			return nil, err
		}
		p := &Plain{buf: out, ReaderAt: bytes.NewReader(out), Size: int64(len(out)), Layers: []string{layerOpenPGP, layer}, PasswordIndex: idx}
		if err := checkZip(ctx, out, layer, lim); err != nil {
			p.Close()
			return nil, err
		}
		return p, nil
	}
	wipe(plain)
	code := f.Code()
	if f.Kind == OpenPGP {
		code = validate.FileUnsupportedFormat
	}
	return nil, formatErr(code, "an OpenPGP message containing "+f.What, f)
}

// checkZip confirms that a decrypted Office package is a workbook. For standard encryption,
// which has no MAC, it also reads every part to check its CRC, so that a damaged file is
// file.corrupt here rather than a confusing error in the workbook reader.
func checkZip(ctx context.Context, b []byte, layer string, lim Limits) error {
	f, err := Detect(ctx, bytes.NewReader(b), int64(len(b)))
	if err != nil || f.Kind == Unsupported && !bytes.HasPrefix(b, magicZip) {
		return newErr(validate.FileCorrupt, "the password is right but the decrypted workbook is not a valid zip: the file is damaged", err)
	}
	if f.Kind != PlainWorkbook {
		return formatErr(validate.FileUnsupportedFormat, "an encrypted Office file containing "+f.What, f)
	}
	if layer != layerOfficeStandard {
		return nil
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return newErr(validate.FileCorrupt, "the decrypted workbook is not a valid zip", err)
	}
	var total uint64
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		if total > uint64(lim.MaxUnzipSize) {
			return newErr(validate.FileTooLarge, fmt.Sprintf("the workbook's parts declare more than %d bytes uncompressed", lim.MaxUnzipSize), nil)
		}
	}
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		rc, err := zf.Open()
		if err != nil {
			return newErr(validate.FileCorrupt, "a part of the decrypted workbook cannot be read: the file is damaged", err)
		}
		_, err = io.Copy(io.Discard, io.LimitReader(rc, int64(zf.UncompressedSize64)+1))
		rc.Close()
		if err != nil {
			return newErr(validate.FileCorrupt, "a part of the decrypted workbook is damaged (checksum): the file is damaged", err)
		}
	}
	return nil
}
