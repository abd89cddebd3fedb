package io

import (
	"bufio"
	"fmt"
	stdio "io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const letterCSV = "../../testdata/letter.csv"

// BenchmarkReadLetter reads the 20000 x 17 letter.csv (integer features,
// one text class column).
func BenchmarkReadLetter(b *testing.B) {
	if _, err := os.Stat(letterCSV); err != nil {
		b.Skip("letter.csv not available")
	}
	n := 0
	cpu := cpuTime()
	for b.Loop() {
		t, err := Read(letterCSV, nil)
		if err != nil {
			b.Fatal(err)
		}
		n += t.Rows
	}
	reportRates(b, n, cpuTime()-cpu)
}

// writeBigCSV writes rows x 16 float columns with 1-4 decimals plus a class.
func writeBigCSV(tb testing.TB, path string, rows int) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for j := range 16 {
		fmt.Fprintf(w, "f%d,", j)
	}
	w.WriteString("class\n")
	rng := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	for range rows {
		buf = buf[:0]
		for j := range 16 {
			buf = fmt.Appendf(buf, "%.*f,", 1+j%4, rng.NormFloat64()*10)
		}
		buf = append(buf, 'c')
		buf = fmt.Append(buf, rng.IntN(20))
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkReadCSV1M reads a generated 1,000,000-row CSV (16 float columns
// and a class column, about 100 MB).
func BenchmarkReadCSV1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.csv")
	const rows = 1_000_000
	writeBigCSV(b, path, rows)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	n := 0
	cpu := cpuTime()
	for b.Loop() {
		t, err := Read(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if t.Rows != rows || t.Columns[0].Kind != Float || t.Columns[16].Kind != Text {
			b.Fatalf("unexpected table: %d rows", t.Rows)
		}
		n += t.Rows
	}
	reportRates(b, n, cpuTime()-cpu)
}

// reportRates reports rows per second of wall time and, since the machine
// may be shared, rows per second of CPU time (all threads, GC included).
func reportRates(b *testing.B, rows int, cpu time.Duration) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	if cpu > 0 {
		b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
	}
}

// BenchmarkChunksCSV1M reads the same file as BenchmarkReadCSV1M chunk by
// chunk on one goroutine (the streaming reader: cut, then parse).
func BenchmarkChunksCSV1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.csv")
	const rows = 1_000_000
	writeBigCSV(b, path, rows)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	n := 0
	cpu := cpuTime()
	for b.Loop() {
		s, err := OpenChunks(path, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		kinds := s.Kinds()
		got := 0
		for {
			c, err := s.Next()
			if err == stdio.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			t, err := s.Parse(c, kinds)
			if err != nil {
				b.Fatal(err)
			}
			MergeKinds(kinds, t)
			got += t.Rows
		}
		s.Close()
		if got != rows {
			b.Fatalf("%d rows", got)
		}
		n += got
	}
	reportRates(b, n, cpuTime()-cpu)
}
