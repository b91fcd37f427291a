package fastxlsx

import (
	"context"
	"io"
)

const (
	chunkSize = 256 << 10 // bytes per inflated chunk
	nChunks   = 4         // chunks in flight between the inflater and the scanner
	// syncPart is the largest part (declared uncompressed size) inflated in the caller's
	// goroutine: for a small part a goroutine and a ring of chunks cost more than the overlap
	// gains (issue 17: the mailbox's many small files).
	syncPart = chunkSize
)

type chunk struct {
	b   []byte
	err error // io.EOF on the last chunk, or the read error
}

// pipe inflates a zip entry into chunks for a scanner. A large part is inflated in its own
// goroutine into a small ring of reusable chunks, so that decompression (one core) overlaps with
// scanning (the other core); a small one is read in the caller's goroutine into one buffer.
// Memory is bounded by min(part size, nChunks*chunkSize) regardless of the part's size: the part's
// declared uncompressed size bounds what archive/zip lets it inflate to.
type pipe struct {
	ctx  context.Context
	rc   io.ReadCloser
	sync []byte // synchronous mode: the one chunk buffer

	ch   chan chunk
	free chan []byte
	done chan struct{}
	exit chan struct{}
}

// newPipe starts inflating rc, whose declared uncompressed size is size.
func newPipe(ctx context.Context, rc io.ReadCloser, size uint64) *pipe {
	p := &pipe{ctx: ctx, rc: rc}
	if size < syncPart {
		// +1 so that the first read already sees the end of the part.
		p.sync = make([]byte, size+1)
		return p
	}
	p.ch = make(chan chunk, nChunks)
	p.free = make(chan []byte, nChunks)
	p.done = make(chan struct{})
	p.exit = make(chan struct{})
	for i := 0; i < nChunks; i++ {
		p.free <- make([]byte, chunkSize)
	}
	go p.run(ctx)
	return p
}

// next returns the next chunk: valid until release is called with it (or, synchronous, until
// the next call).
func (p *pipe) next() ([]byte, error) {
	if p.sync != nil {
		if err := p.ctx.Err(); err != nil {
			return nil, err
		}
		n, err := io.ReadFull(p.rc, p.sync)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return p.sync[:n], err
	}
	c := <-p.ch
	return c.b, c.err
}

// release gives a chunk from next back to the ring.
func (p *pipe) release(b []byte) {
	if p.sync == nil {
		p.free <- b[:cap(b)]
	}
}

func (p *pipe) run(ctx context.Context) {
	defer close(p.exit)
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.done:
			return
		}
		var err error
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		n := 0
		if err == nil {
			n, err = io.ReadFull(p.rc, buf)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
		}
		select {
		case p.ch <- chunk{b: buf[:n], err: err}:
		case <-p.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// close stops the goroutine and closes the entry reader. Safe to call more than once.
func (p *pipe) close() error {
	if p == nil || p.rc == nil {
		return nil
	}
	if p.sync == nil {
		close(p.done)
		<-p.exit
	}
	err := p.rc.Close()
	p.rc = nil
	return err
}
