// Package ctxio makes a long read stop when its context ends.
package ctxio

import (
	"context"
	"io"
)

// Reader reads from R until Ctx is done, then fails with the context's error.
type Reader struct {
	Ctx context.Context
	R   io.Reader
}

// NewReader returns r that stops with ctx.
func NewReader(ctx context.Context, r io.Reader) *Reader { return &Reader{Ctx: ctx, R: r} }

// Read implements io.Reader.
func (c *Reader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}
