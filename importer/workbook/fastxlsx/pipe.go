package fastxlsx

import (
	"context"
	"io"
)

const (
	chunkSize = 256 << 10 // bytes per inflated chunk
	nChunks   = 4         // chunks in flight between the inflater and the scanner
)

type chunk struct {
	b   []byte
	err error // io.EOF on the last chunk, or the read error
}

// pipe inflates a zip entry in its own goroutine into a small ring of reusable chunks, so that
// decompression (one core) overlaps with scanning (the other core). Memory is bounded:
// nChunks*chunkSize bytes regardless of the part's size.
type pipe struct {
	ch   chan chunk
	free chan []byte
	done chan struct{}
	rc   io.ReadCloser
	exit chan struct{}
}

func newPipe(ctx context.Context, rc io.ReadCloser) *pipe {
	p := &pipe{
		ch:   make(chan chunk, nChunks),
		free: make(chan []byte, nChunks),
		done: make(chan struct{}),
		rc:   rc,
		exit: make(chan struct{}),
	}
	for i := 0; i < nChunks; i++ {
		p.free <- make([]byte, chunkSize)
	}
	go p.run(ctx)
	return p
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
	close(p.done)
	<-p.exit
	err := p.rc.Close()
	p.rc = nil
	return err
}
