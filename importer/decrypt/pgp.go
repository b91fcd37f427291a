package decrypt

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/crypto/cast5"

	"github.com/fhi/sysvak-import/internal/ctxio"
	"github.com/fhi/sysvak-import/validate"
)

const layerOpenPGP = "openpgp"

// readMessageFunc is openpgp.ReadMessage; unwrapper holds it so that tests can prove that the
// pre-scan refuses a hostile message before go-crypto is ever called.
type readMessageFunc func(io.Reader, openpgp.KeyRing, openpgp.PromptFunction, *packet.Config) (*openpgp.MessageDetails, error)

// errPromptAgain is what the prompt returns when go-crypto asks a second time: it does so after
// the passphrase failed to decrypt a session key, and would loop forever otherwise.
var errPromptAgain = errors.New("passphrase rejected by the session-key packet")

// dearmor turns an ASCII-armored message into its binary packets (bounded by len(b)).
func dearmor(b []byte) ([]byte, error) {
	blk, err := armor.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, newErr(validate.FileCorrupt, "the ASCII-armored OpenPGP message is damaged or truncated", err)
	}
	if blk.Type != "PGP MESSAGE" {
		return nil, newErr(validate.FileUnsupportedFormat, "an ASCII-armored OpenPGP "+printable(blk.Type)+" (not an encrypted message)", nil)
	}
	out, err := io.ReadAll(io.LimitReader(blk.Body, int64(len(b))+1))
	if err != nil {
		return nil, newErr(validate.FileCorrupt, "the ASCII-armored OpenPGP message is damaged or truncated (armor checksum or base64)", err)
	}
	return out, nil
}

// openPGP decrypts a binary OpenPGP message with the first password that opens it. The plaintext
// is returned only after go-crypto reported a clean EOF, i.e. after the MDC or the last AEAD tag
// was verified; on any error the partial plaintext is wiped and dropped.
func (u *unwrapper) openPGP(ctx context.Context, bin []byte, passwords [][]byte, lim Limits) ([]byte, int, error) {
	scan, err := preScan(bin, lim)
	if err != nil {
		return nil, -1, err
	}
	if len(passwords) == 0 {
		return nil, -1, newErr(validate.FilePasswordNeeded, "the OpenPGP message is passphrase-encrypted and no password is known for it", nil)
	}
	for i, pw := range passwords {
		// With several candidates, skip the ones the passphrase check already rules out: one
		// key derivation each instead of a failed decryption plus the check.
		if len(passwords) > 1 && i < len(passwords)-1 && passphraseMatches(bin, scan, pw) == pwWrong {
			continue
		}
		plain, err := u.pgpAttempt(ctx, bin, scan, pw, lim)
		if CodeOf(err) == validate.FileWrongPassword && i < len(passwords)-1 {
			continue
		}
		if err != nil {
			if CodeOf(err) == validate.FileWrongPassword && len(passwords) > 1 {
				var e *Error
				errors.As(err, &e)
				e.Detail = fmt.Sprintf("none of the %d passwords opens the OpenPGP message (%s)", len(passwords), e.Detail)
			}
			return nil, -1, err
		}
		return plain, i, nil
	}
	return nil, -1, newErr(validate.FileWrongPassword, "no password opens the OpenPGP message", nil)
}

func (u *unwrapper) pgpAttempt(ctx context.Context, bin []byte, scan *pgpScan, pw []byte, lim Limits) ([]byte, error) {
	calls := 0
	prompt := func(_ []openpgp.Key, symmetric bool) ([]byte, error) {
		calls++
		if !symmetric || calls > 1 {
			return nil, errPromptAgain
		}
		return pw, nil
	}
	// go-crypto's own cap counts the decompressed packet stream (literal-data headers and
	// partial-length octets included) and reports going over it as a generic parsing error, so
	// it gets headroom: the LimitReader below meets MaxPlainSize first and says file.too_large.
	maxPlain := lim.MaxPlainSize + lim.MaxPlainSize/256 + 64<<10
	cfg := &packet.Config{MaxDecompressedMessageSize: &maxPlain}
	var (
		buf  bytes.Buffer
		rerr error
	)
	func() {
		defer func() {
			if p := recover(); p != nil {
				rerr = errors.New("panic in OpenPGP decoder")
			}
		}()
		md, err := u.readMessage(ctxio.NewReader(ctx, bytes.NewReader(bin)), nil, prompt, cfg)
		if err != nil {
			rerr = err
			return
		}
		if !md.IsSymmetricallyEncrypted {
			rerr = newErr(validate.FileUnsupportedFormat, "an OpenPGP message that is not passphrase-encrypted", nil)
			return
		}
		_, rerr = io.Copy(&buf, io.LimitReader(ctxio.NewReader(ctx, md.UnverifiedBody), lim.MaxPlainSize+1))
		if rerr == nil && int64(buf.Len()) > lim.MaxPlainSize {
			rerr = pgperrors.ErrMessageTooLarge
		}
	}()
	if rerr == nil {
		return buf.Bytes(), nil
	}
	wipe(buf.Bytes())
	tooBig := int64(buf.Len()) >= lim.MaxPlainSize
	return nil, u.classifyPGP(ctx, rerr, bin, scan, pw, tooBig, lim)
}

// classifyPGP maps a go-crypto failure to a file-level code. The packet structure was already
// found complete by preScan, so a truncation never gets here. With gpg's default passphrase
// packet (no encrypted session key) go-crypto v1.5.2 reports a wrong passphrase as a generic
// "parsing error" -- the same as damaged ciphertext -- so the passphrase is checked again
// independently: for SEIPD v1 with the 16-bit "quick check" of the encrypted prefix
// (RFC 4880 §5.13, which go-crypto no longer performs), for SEIPD v2 by the authenticated
// session-key packet.
func (u *unwrapper) classifyPGP(ctx context.Context, err error, bin []byte, scan *pgpScan, pw []byte, tooBig bool, lim Limits) error {
	var de *Error
	switch {
	case errors.As(err, &de):
		return de
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, errPromptAgain):
		return newErr(validate.FileWrongPassword, "the password does not open the OpenPGP message (rejected by its passphrase packet)", nil)
	case errors.Is(err, pgperrors.ErrMessageTooLarge), tooBig:
		return newErr(validate.FileTooLarge, fmt.Sprintf("the decrypted OpenPGP content is larger than the limit of %d bytes", lim.MaxPlainSize), nil)
	}
	var unsupported pgperrors.UnsupportedError
	if errors.As(err, &unsupported) {
		return newErr(validate.FileUnsupportedFormat, "an OpenPGP message using an unsupported feature", err)
	}
	switch passphraseMatches(bin, scan, pw) {
	case pwWrong:
		return newErr(validate.FileWrongPassword, "the password does not open the OpenPGP message (its check bytes do not match)", nil)
	case pwRight:
		if errors.Is(err, pgperrors.ErrMDCHashMismatch) || errors.Is(err, pgperrors.ErrMDCMissing) || errors.Is(err, pgperrors.ErrAEADTagVerification) {
			return newErr(validate.FileIntegrity, "the password is right but the OpenPGP integrity check failed: the file was modified or damaged after encryption", err)
		}
		return newErr(validate.FileIntegrity, "the password is right but the decrypted OpenPGP content is damaged (it fails to parse before its integrity check): the file was modified or damaged after encryption", err)
	}
	return newErr(validate.FileWrongPassword, "the password is wrong or the OpenPGP message is damaged (this cipher does not let us tell which)", err)
}

type pwVerdict int

const (
	pwUnknown pwVerdict = iota
	pwRight
	pwWrong
)

// passphraseMatches re-derives the session key from the passphrase packets and checks it
// independently of the data. The S2K parameters were checked by preScan.
func passphraseMatches(bin []byte, scan *pgpScan, pw []byte) (v pwVerdict) {
	defer func() {
		if recover() != nil {
			v = pwUnknown
		}
	}()
	v = pwWrong
	for _, raw := range scan.skesk {
		p, err := packet.Read(bytes.NewReader(bin[raw.start:raw.end]))
		if err != nil {
			continue
		}
		ske, ok := p.(*packet.SymmetricKeyEncrypted)
		if !ok {
			continue
		}
		key, cf, err := ske.Decrypt(pw)
		if err != nil {
			continue // v4 with a session key: bad cipher octet; v5/v6: AEAD tag failed
		}
		if ske.Version >= 5 {
			wipe(key)
			return pwRight // the session key was authenticated by AEAD
		}
		if scan.dataVer != 1 {
			wipe(key)
			return pwUnknown
		}
		ok, known := seipdV1QuickCheck(cf, key, scan.data.body(bin, 1+aes.BlockSize+2+16))
		wipe(key)
		if !known {
			return pwUnknown
		}
		if ok {
			return pwRight
		}
	}
	return v
}

// seipdV1QuickCheck decrypts the random prefix of a SEIPD v1 packet (OpenPGP CFB, RFC 4880
// §13.9) and compares its repeated last two octets. A wrong key passes with probability 2^-16.
func seipdV1QuickCheck(cf packet.CipherFunction, key, body []byte) (ok, known bool) {
	var blk cipher.Block
	var err error
	switch cf {
	case packet.CipherAES128, packet.CipherAES192, packet.CipherAES256:
		blk, err = aes.NewCipher(key)
	case packet.Cipher3DES:
		blk, err = des.NewTripleDESCipher(key)
	case packet.CipherCAST5:
		blk, err = cast5.NewCipher(key)
	default:
		return false, false
	}
	if err != nil {
		return false, false
	}
	bs := blk.BlockSize()
	if len(body) < 1+bs+2 {
		return false, false
	}
	c := body[1 : 1+bs+2] // after the version octet
	fre := make([]byte, bs)
	blk.Encrypt(fre, fre)
	p := make([]byte, bs+2)
	for i := 0; i < bs; i++ {
		p[i] = c[i] ^ fre[i]
	}
	blk.Encrypt(fre, c[:bs])
	p[bs] = c[bs] ^ fre[0]
	p[bs+1] = c[bs+1] ^ fre[1]
	return p[bs-2] == p[bs] && p[bs-1] == p[bs+1], true
}
