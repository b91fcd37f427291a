package fastxlsx

import (
	"context"
	"errors"
	"io"

	"github.com/fhi/sysvak-import/importer/workbook"
)

// OpenWithFallback is how the pipeline should open a (decrypted) workbook: fastxlsx when it
// can read the file exactly, workbook.OpenExcelize when it cannot. The switch is transparent:
//
//   - Open fails with ErrUnsupported: the Book is excelize's.
//   - Rows fails with ErrUnsupported (e.g. a chart sheet, strict shared strings): that sheet is
//     read with excelize.
//   - The row stream meets an unsupported construct in the middle of the sheet: the iterator
//     opens the sheet with excelize and continues after the last row it already returned (rows
//     are returned only once complete, so none is lost or repeated).
//
// Limit errors (*workbook.Error, file.too_large) and ctx errors are returned as they are: they
// are not fastxlsx's to second-guess. r must stay readable until the Book is closed.
func OpenWithFallback(ctx context.Context, r io.ReaderAt, size int64, o Options) (workbook.Book, error) {
	fast, err := Open(ctx, r, size, o)
	if err != nil {
		if errors.Is(err, ErrUnsupported) {
			return workbook.OpenExcelize(ctx, r, size, o.Options)
		}
		return nil, err
	}
	return &fallbackBook{fast: fast, r: r, size: size, o: o}, nil
}

type fallbackBook struct {
	fast workbook.Book
	slow workbook.Book // opened lazily
	r    io.ReaderAt
	size int64
	o    Options
}

func (b *fallbackBook) Sheets() []workbook.SheetInfo { return b.fast.Sheets() }
func (b *fallbackBook) Date1904() bool               { return b.fast.Date1904() }

func (b *fallbackBook) excelize(ctx context.Context) (workbook.Book, error) {
	if b.slow == nil {
		slow, err := workbook.OpenExcelize(ctx, b.r, b.size, b.o.Options)
		if err != nil {
			return nil, err
		}
		b.slow = slow
	}
	return b.slow, nil
}

func (b *fallbackBook) Rows(ctx context.Context, sheet string) (workbook.RowIter, error) {
	it, err := b.fast.Rows(ctx, sheet)
	if err == nil {
		return &fallbackIter{book: b, ctx: ctx, sheet: sheet, cur: it}, nil
	}
	if !errors.Is(err, ErrUnsupported) {
		return nil, err
	}
	slow, err := b.excelize(ctx)
	if err != nil {
		return nil, err
	}
	return slow.Rows(ctx, sheet)
}

func (b *fallbackBook) Close() error {
	err := b.fast.Close()
	if b.slow != nil {
		if e := b.slow.Close(); err == nil {
			err = e
		}
	}
	return err
}

// fallbackIter reads with fastxlsx and, on ErrUnsupported, continues with excelize after the
// last row returned.
type fallbackIter struct {
	book     *fallbackBook
	ctx      context.Context
	sheet    string
	cur      workbook.RowIter
	switched bool
	last     int // last row number returned
	err      error
}

func (it *fallbackIter) Next() bool {
	if it.err != nil {
		return false
	}
	for {
		if it.cur.Next() {
			if it.switched && it.cur.Num() <= it.last {
				continue // already returned by fastxlsx
			}
			it.last = it.cur.Num()
			return true
		}
		err := it.cur.Err()
		if it.switched || !errors.Is(err, ErrUnsupported) {
			it.err = err
			return false
		}
		_ = it.cur.Close()
		slow, oerr := it.book.excelize(it.ctx)
		if oerr != nil {
			it.err = oerr
			return false
		}
		next, oerr := slow.Rows(it.ctx, it.sheet)
		if oerr != nil {
			it.err = oerr
			return false
		}
		it.cur, it.switched = next, true
	}
}

func (it *fallbackIter) Num() int               { return it.cur.Num() }
func (it *fallbackIter) Cells() []workbook.Cell { return it.cur.Cells() }
func (it *fallbackIter) Err() error             { return it.err }
func (it *fallbackIter) Close() error           { return it.cur.Close() }

// Switched reports whether the iterator (from OpenWithFallback) fell back to excelize; for
// logging and tests.
func Switched(it workbook.RowIter) bool {
	f, ok := it.(*fallbackIter)
	return ok && f.switched
}
