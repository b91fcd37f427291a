package fastxlsx

import (
	"unsafe"

	"github.com/fhi/sysvak-import/importer/workbook"
)

// Reading ahead (issue 17). Validating a big sheet is three stages: inflating (the pipe's
// goroutine), scanning the XML into rows, and checking the rows. The last two ran in the
// caller's goroutine, so on two cores validate took as long as scanning plus checking (about
// 1.8x `unzip -p`). Once the caller has said that it keeps nothing of a row beyond the row
// (ReuseRowMemory), aheadIter scans in a goroutine of its own, a few batches of rows ahead of
// the caller, and hands over batches whose cell text is copied into the batch's reused buffer.

const (
	// aheadFrom is the declared size of a worksheet part from which its rows are read ahead
	// (about 20,000 rows); a smaller part is not worth a goroutine.
	aheadFrom = 8 << 20
	// aheadRows is the number of rows in a batch, aheadBatches the number of batches (in the
	// scanner's hands, in the channel, in the caller's).
	aheadRows    = 512
	aheadBatches = 4
)

// aheadBatch is a run of consecutive rows: row i has number nums[i] and the cells
// cells[ends[i-1]:ends[i]] (ends[-1] = 0), whose text lives in text, or in the shared-strings
// table (which is never written again: such a value is not copied).
type aheadBatch struct {
	nums  []int
	ends  []int
	cells []workbook.Cell
	offs  []int // offs[j]: where cell j's text starts in text; -1: cells[j].Value is kept as is
	text  []byte
	last  bool  // the rows end after this batch
	err   error // with last: the iterator's Err
}

func (b *aheadBatch) reset() {
	b.nums, b.ends, b.cells, b.offs, b.text = b.nums[:0], b.ends[:0], b.cells[:0], b.offs[:0], b.text[:0]
	b.last, b.err = false, nil
}

// add appends a row; a value inside stable (the shared strings) is kept, any other copied.
func (b *aheadBatch) add(num int, cells []workbook.Cell, stable string) {
	b.nums = append(b.nums, num)
	lo := uintptr(unsafe.Pointer(unsafe.StringData(stable)))
	for _, c := range cells {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(c.Value))); c.Value == "" || p-lo < uintptr(len(stable)) {
			b.offs = append(b.offs, -1)
			b.cells = append(b.cells, c)
			continue
		}
		b.offs = append(b.offs, len(b.text))
		b.text = append(b.text, c.Value...)
		b.cells = append(b.cells, workbook.Cell{Value: c.Value, FormulaNoValue: c.FormulaNoValue})
	}
	b.ends = append(b.ends, len(b.cells))
}

// seal points the copied values into text, which is not appended to again until the batch is
// reset (after the caller has moved past it).
func (b *aheadBatch) seal() {
	for j, off := range b.offs {
		if off >= 0 {
			b.cells[j].Value = unsafe.String(&b.text[off], len(b.cells[j].Value))
		}
	}
}

// aheadIter is a row iterator over a big worksheet part that, after ReuseRowMemory, reads
// ahead in a goroutine of its own. Before that it is the plain iterator (the header rows'
// text may be kept).
type aheadIter struct {
	rows    *rowIter // the iterator the goroutine drives
	started bool
	full    chan *aheadBatch
	free    chan *aheadBatch
	stop    chan struct{}
	done    chan struct{} // closed when the goroutine has returned
	cur     *aheadBatch
	i       int // the current row's index in cur
	err     error
	end     bool
}

func newAheadIter(rows *rowIter) *aheadIter { return &aheadIter{rows: rows} }

func (a *aheadIter) start() {
	a.started = true
	a.full = make(chan *aheadBatch, aheadBatches)
	a.free = make(chan *aheadBatch, aheadBatches)
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	for range aheadBatches {
		a.free <- &aheadBatch{nums: make([]int, 0, aheadRows), ends: make([]int, 0, aheadRows)}
	}
	go a.run()
}

// run fills batches until the rows end or Close stops it.
func (a *aheadIter) run() {
	defer close(a.done)
	var sst string
	if a.rows.sst != nil {
		sst = a.rows.sst.data
	}
	for {
		var b *aheadBatch
		select {
		case b = <-a.free:
		case <-a.stop:
			return
		}
		b.reset()
		for len(b.nums) < aheadRows {
			if !a.rows.Next() {
				b.last, b.err = true, a.rows.Err()
				break
			}
			b.add(a.rows.Num(), a.rows.Cells(), sst)
		}
		b.seal()
		select {
		case a.full <- b:
		case <-a.stop:
			return
		}
		if b.last {
			return
		}
	}
}

func (a *aheadIter) Next() bool {
	if !a.started {
		if !a.rows.reuse {
			return a.rows.Next()
		}
		a.start()
	}
	for {
		if a.cur != nil {
			if a.i+1 < len(a.cur.nums) {
				a.i++
				return true
			}
			if a.cur.last {
				a.err, a.end = a.cur.err, true
			} else {
				a.free <- a.cur // never blocks: there are aheadBatches batches in all
			}
			a.cur = nil
		}
		if a.end {
			return false
		}
		a.cur, a.i = <-a.full, -1
	}
}

func (a *aheadIter) Num() int {
	if !a.started {
		return a.rows.Num()
	}
	if a.cur == nil {
		return 0
	}
	return a.cur.nums[a.i]
}

func (a *aheadIter) Cells() []workbook.Cell {
	if !a.started {
		return a.rows.Cells()
	}
	if a.cur == nil {
		return nil
	}
	from := 0
	if a.i > 0 {
		from = a.cur.ends[a.i-1]
	}
	return a.cur.cells[from:a.cur.ends[a.i]]
}

func (a *aheadIter) Err() error {
	if !a.started {
		return a.rows.Err()
	}
	return a.err
}

// Close stops the goroutine (waiting for it) and closes the iterator it drives.
func (a *aheadIter) Close() error {
	if a.started && a.stop != nil {
		close(a.stop)
		<-a.done
		a.stop = nil
		a.end = true
	}
	return a.rows.Close()
}
