// Package heapwatch measures the peak growth of the live Go heap while some code runs, for tests
// that assert bounded memory on hostile input (issue 7). It samples runtime/metrics every 5 ms.
package heapwatch

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// Start samples the live heap until the returned function is called, which returns the peak
// growth in bytes over the heap at the start (after a GC).
func Start() (stop func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var (
		mu   sync.Mutex
		peak = base
		quit = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
				v := read()
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
		}
	}()
	return func() uint64 {
		close(quit)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return max(peak, read()) - base
	}
}
