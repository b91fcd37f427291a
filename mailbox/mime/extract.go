package mime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	stdmime "mime"
	"os"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset" // non-UTF-8 charsets in RFC 2047 names and text parts
	"github.com/fhi/sysvak-import/internal/ctxio"
)

// Limits bound what one message may cost. Zero fields take the defaults.
type Limits struct {
	MaxAttachmentSize int64 // decoded bytes per attachment; default 50 MiB (SPEC 1.1)
	MaxParts          int   // parts visited in the whole tree; default 256
	MaxDepth          int   // nesting of multiparts and forwarded messages; default 8
	MaxHeaderBytes    int64 // per header block; default 64 KiB
}

// Defaults.
const (
	DefaultMaxAttachmentSize = 50 << 20
	DefaultMaxParts          = 256
	DefaultMaxDepth          = 8
	DefaultMaxHeaderBytes    = 64 << 10
)

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxAttachmentSize <= 0 {
		l.MaxAttachmentSize = DefaultMaxAttachmentSize
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// Reason says why a part was not taken.
type Reason string

// Reasons.
const (
	ReasonUnsupported  Reason = "unsupported_type" // the sniffer did not accept the content
	ReasonTooLarge     Reason = "too_large"        // over Limits.MaxAttachmentSize
	ReasonUnreadable   Reason = "unreadable"       // broken MIME structure or transfer encoding
	ReasonTooManyParts Reason = "too_many_parts"   // Limits.MaxParts reached; the rest was not read
	ReasonTooDeep      Reason = "too_deep"         // nested deeper than Limits.MaxDepth
)

// Attachment is a part that was taken: its decoded bytes are in the 0600 file Path (fsynced and
// closed). The caller owns the file: commit it to the spool or Remove it.
type Attachment struct {
	Index       int    // 1-based order of the part in the message tree
	FileName    string // sanitised; "attachment" when the part had none
	ContentType string // as declared (lower case), for information only
	What        string // what the sniffer said it is
	SHA256      string // hex of the decoded bytes
	Size        int64
	Path        string
}

// FileID is the SPEC 5 file id: the first 16 hex digits of the SHA-256.
func (a Attachment) FileID() string { return a.SHA256[:16] }

// Remove deletes the temp file.
func (a Attachment) Remove() error {
	if err := os.Remove(a.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Skipped is a candidate part that was not taken.
type Skipped struct {
	Index       int
	FileName    string // sanitised; "" when the part had none
	ContentType string
	Reason      Reason
	What        string // for ReasonUnsupported: what it looked like
	Size        int64  // decoded bytes seen (for too_large: more than the limit)
}

// ErrSource wraps a read error of the message source (e.g. the IMAP connection dropped): the
// extraction is incomplete and must be retried, unlike a malformed message.
var ErrSource = errors.New("mime: reading the message failed")

// Extract reads one message from r and writes each accepted attachment to a new 0600 file in
// tmpDir. On error every file it created is removed and nil slices are returned.
func Extract(ctx context.Context, r io.Reader, lim Limits, sniff Sniffer, tmpDir string) ([]Attachment, []Skipped, error) {
	if sniff == nil {
		sniff = MagicSniffer
	}
	x := &extractor{ctx: ctx, lim: lim.WithDefaults(), sniff: sniff, tmpDir: tmpDir,
		src: &sourceReader{r: r}, buf: make([]byte, 32<<10)}
	err := x.run()
	if err == nil && x.src.err != nil { // a broken source shows up as a malformed message: it is not
		err = x.src.err
	}
	if err != nil {
		for _, a := range x.atts {
			_ = a.Remove()
		}
		if x.src.err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrSource, x.src.err)
		}
		return nil, nil, err
	}
	return x.atts, x.skipped, nil
}

type extractor struct {
	ctx     context.Context
	lim     Limits
	sniff   Sniffer
	tmpDir  string
	src     *sourceReader
	buf     []byte
	parts   int
	full    bool
	atts    []Attachment
	skipped []Skipped
}

// sourceReader remembers the first read error of the source other than EOF.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

func (x *extractor) run() error {
	e, err := message.ReadWithOptions(x.src, &message.ReadOptions{MaxHeaderBytes: x.lim.MaxHeaderBytes})
	if e == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
		if x.src.err != nil {
			return x.src.err
		}
		x.skipped = append(x.skipped, Skipped{Reason: ReasonUnreadable, What: "message header"})
		return nil
	}
	return x.entity(e, err, 0)
}

// entity handles one entity (the message, a part or a forwarded message) at a nesting depth.
// newErr is the error message.New returned for it (unknown charset / transfer encoding).
func (x *extractor) entity(e *message.Entity, newErr error, depth int) error {
	if err := x.ctx.Err(); err != nil {
		return err
	}
	if x.src.err != nil {
		return x.src.err
	}
	if x.full {
		return nil
	}
	x.parts++
	index := x.parts
	if x.parts > x.lim.MaxParts {
		x.full = true
		x.skipped = append(x.skipped, Skipped{Index: index, Reason: ReasonTooManyParts})
		return nil
	}
	mediaType, ctParams, ctErr := e.Header.ContentType()
	if ctErr != nil && mediaType == "" {
		mediaType = "application/octet-stream"
	}
	if mediaType == "" {
		mediaType = "text/plain"
	}
	disp, dParams, _ := e.Header.ContentDisposition()
	rawName := dParams["filename"]
	if rawName == "" {
		rawName = ctParams["name"]
	}
	if strings.Contains(rawName, "=?") {
		dec := stdmime.WordDecoder{CharsetReader: charset.Reader}
		if d, err := dec.DecodeHeader(rawName); err == nil {
			rawName = d
		}
	}
	name := ""
	if rawName != "" {
		name = SanitizeFileName(rawName)
	}

	if mr := e.MultipartReader(); mr != nil {
		if depth >= x.lim.MaxDepth {
			x.skipped = append(x.skipped, Skipped{Index: index, ContentType: mediaType, Reason: ReasonTooDeep})
			return nil
		}
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if p == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
				if x.src.err != nil {
					return x.src.err
				}
				x.skipped = append(x.skipped, Skipped{Index: index, ContentType: mediaType, Reason: ReasonUnreadable, What: "multipart"})
				return nil
			}
			if err := x.entity(p, err, depth+1); err != nil {
				return err
			}
			if x.full {
				return nil
			}
		}
	}
	if mediaType == "message/rfc822" || mediaType == "message/global" {
		if depth >= x.lim.MaxDepth {
			x.skipped = append(x.skipped, Skipped{Index: index, FileName: name, ContentType: mediaType, Reason: ReasonTooDeep})
			return nil
		}
		inner, err := message.ReadWithOptions(e.Body, &message.ReadOptions{MaxHeaderBytes: x.lim.MaxHeaderBytes})
		if inner == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
			if x.src.err != nil {
				return x.src.err
			}
			x.skipped = append(x.skipped, Skipped{Index: index, FileName: name, ContentType: mediaType, Reason: ReasonUnreadable, What: "forwarded message"})
			return nil
		}
		return x.entity(inner, err, depth+1)
	}
	// A leaf. Message text (text/* without a file name, not marked as an attachment) is not a candidate.
	isBody := strings.HasPrefix(mediaType, "text/") || strings.HasPrefix(mediaType, "multipart/") || strings.HasPrefix(mediaType, "message/")
	if name == "" && disp != "attachment" && isBody {
		return nil
	}
	if message.IsUnknownEncoding(newErr) {
		x.skipped = append(x.skipped, Skipped{Index: index, FileName: name, ContentType: mediaType, Reason: ReasonUnreadable, What: "transfer encoding"})
		return nil
	}
	return x.leaf(e.Body, index, name, mediaType)
}

func (x *extractor) leaf(body io.Reader, index int, name, mediaType string) error {
	body = ctxio.NewReader(x.ctx, body)
	head := make([]byte, HeadSize)
	n, err := readHead(body, head)
	head = head[:n]
	if err != nil && err != io.EOF {
		return x.partError(err, Skipped{Index: index, FileName: name, ContentType: mediaType, Size: int64(n)})
	}
	short := err == io.EOF
	ok, what := x.sniff(head)
	sk := Skipped{Index: index, FileName: name, ContentType: mediaType, What: what}
	if !ok {
		sk.Reason = ReasonUnsupported
		rest, err := x.drain(body, short)
		sk.Size = int64(n) + rest
		if err != nil {
			return x.partError(err, sk)
		}
		x.skipped = append(x.skipped, sk)
		return nil
	}
	if int64(n) > x.lim.MaxAttachmentSize {
		sk.Reason = ReasonTooLarge
		rest, err := x.drain(body, short)
		sk.Size = int64(n) + rest
		if err != nil {
			return x.partError(err, sk)
		}
		x.skipped = append(x.skipped, sk)
		return nil
	}
	f, err := os.CreateTemp(x.tmpDir, "att-*")
	if err != nil {
		return fmt.Errorf("mime: temp file: %w", err)
	}
	h := sha256.New()
	w := io.MultiWriter(f, h)
	size, werr := writeAll(w, head)
	if werr == nil && !short {
		var m int64
		m, werr = io.CopyBuffer(w, io.LimitReader(body, x.lim.MaxAttachmentSize-size+1), x.buf)
		size += m
	}
	if werr == nil && size > x.lim.MaxAttachmentSize {
		f.Close()
		os.Remove(f.Name())
		sk.Reason = ReasonTooLarge
		rest, err := x.drain(body, false)
		sk.Size = size + rest
		if err != nil {
			return x.partError(err, sk)
		}
		x.skipped = append(x.skipped, sk)
		return nil
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		sk.Size = size
		return x.partError(werr, sk)
	}
	if name == "" {
		name = "attachment"
	}
	x.atts = append(x.atts, Attachment{Index: index, FileName: name, ContentType: mediaType, What: what,
		SHA256: hexSum(h), Size: size, Path: f.Name()})
	return nil
}

// partError classifies an error met while reading or writing one part: the source failing, the
// context ending or the temp folder failing are errors; a decoding error of the part (bad base64
// and the like) makes the part unreadable and the walk goes on.
func (x *extractor) partError(err error, sk Skipped) error {
	if x.src.err != nil {
		return x.src.err
	}
	if cerr := x.ctx.Err(); cerr != nil {
		return cerr
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("mime: temp file: %w", err)
	}
	sk.Reason = ReasonUnreadable
	x.skipped = append(x.skipped, sk)
	return nil
}

func (x *extractor) drain(r io.Reader, done bool) (int64, error) {
	if done {
		return 0, nil
	}
	return io.CopyBuffer(io.Discard, r, x.buf)
}

// readHead fills head; it returns io.EOF (only) when the part ended before head was full, and any
// other error as is (io.ReadFull would turn a truncated part's io.ErrUnexpectedEOF into "short").
func readHead(r io.Reader, head []byte) (int, error) {
	n := 0
	for n < len(head) {
		m, err := r.Read(head[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func writeAll(w io.Writer, b []byte) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
