package workbook

import (
	"context"
	"os"
	"strconv"
	"testing"
)

func TestZZMeasure(t *testing.T) {
	p := os.Getenv("MEASURE_FILE")
	if p == "" {
		t.Skip()
	}
	lim, _ := strconv.ParseInt(os.Getenv("MEASURE_XML_LIMIT"), 10, 64)
	f, _ := os.Open(p)
	st, _ := f.Stat()
	b, err := OpenExcelize(context.Background(), f, st.Size(), Options{UnzipXMLSizeLimit: lim, TmpDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSheet(context.Background(), b, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for s.Next() {
		n++
	}
	t.Logf("rows %d err %v", n, s.Err())
	b.Close()
}
