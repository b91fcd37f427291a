package importer

import (
	"context"
	"sync"

	"github.com/fhi/sysvak-import/importer/report"
)

// ValidateFiles validates ins as Validate does each, up to workers files at a time (issue 17:
// many small files use both cores, as one big file's reader does), and gives each result to emit
// in the order of ins. An error of emit stops the run (the files still being read are cancelled)
// and is returned. o must be prepared (Options.Prepare): a prepared Options is shared, read-only,
// by the workers.
func ValidateFiles(ctx context.Context, ins []Input, o Options, workers int, emit func(i int, rep *report.Report, err error) error) error {
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		rep *report.Report
		err error
	}
	results := make([]result, len(ins))
	done := make([]chan struct{}, len(ins))
	for i := range done {
		done[i] = make(chan struct{})
	}
	slots := make(chan struct{}, max(1, workers))
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // an early return stops the files still being read
	wg.Add(1)                              // the dispatcher: workers are added while it runs
	go func() {
		defer wg.Done()
		for i := range ins {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				for ; i < len(ins); i++ {
					results[i].err = ctx.Err()
					close(done[i])
				}
				return
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				defer func() { <-slots }()
				results[i].rep, results[i].err = Validate(ctx, ins[i], o)
				close(done[i])
			}(i)
		}
	}()
	for i := range ins {
		<-done[i]
		if err := emit(i, results[i].rep, results[i].err); err != nil {
			return err
		}
	}
	return nil
}
