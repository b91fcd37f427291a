package heapwatch

import "testing"

var sink []byte

func TestStartSeesAnAllocation(t *testing.T) {
	stop := Start()
	sink = make([]byte, 64<<20)
	for i := range sink {
		sink[i] = 1
	}
	grew := stop()
	if grew < 60<<20 {
		t.Fatalf("peak growth %d bytes, want at least 60 MiB", grew)
	}
	sink = nil
}
