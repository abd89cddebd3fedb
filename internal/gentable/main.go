// Command gentable writes a synthetic labelled table for testing ncd at
// scale: Gaussian classes in d dimensions, the first -known of them known
// (class K0, K1, ...) and the rest novel (N0, N1, ...), every row with its
// true class so that `--novel N0,N1,...` hides the novel ones. Class sizes
// grow linearly (class c has weight c+1), so the classes are not balanced.
// Centres are drawn N(0, sep^2) per feature and rows N(centre, 1), so with
// the default -sep 3 in 20 dimensions two centres are about 19 apart against
// a class radius of about 4.5: well separated.
//
//	go run ./internal/gentable -rows 1000000 -out /tmp/big.csv
//
// The output is written as it is generated (constant memory) and depends
// only on the flags.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
)

func main() {
	rows := flag.Int("rows", 1000000, "rows")
	d := flag.Int("features", 20, "features")
	known := flag.Int("known", 3, "known classes")
	novel := flag.Int("novel", 4, "novel classes")
	sep := flag.Float64("sep", 3, "standard deviation of the class centres (rows have 1)")
	seed := flag.Uint64("seed", 1, "seed")
	out := flag.String("out", "", "output CSV (required)")
	flag.Parse()
	if *out == "" || *rows < 1 || *d < 1 || *known < 0 || *novel < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := write(*out, *rows, *d, *known, *novel, *sep, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gentable:", err)
		os.Exit(1)
	}
}

func write(path string, rows, d, known, novel int, sep float64, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 0x67656e))
	k := known + novel
	names := make([]string, k)
	centres := make([][]float64, k)
	cum := make([]float64, k) // cumulative class weights 1, 2, ..., k
	total := 0.0
	for c := range centres {
		names[c] = "K" + strconv.Itoa(c)
		if c >= known {
			names[c] = "N" + strconv.Itoa(c-known)
		}
		centres[c] = make([]float64, d)
		for j := range centres[c] {
			centres[c][j] = sep * rng.NormFloat64()
		}
		total += float64(c + 1)
		cum[c] = total
	}
	for j := 0; j < d; j++ {
		fmt.Fprintf(w, "f%d,", j)
	}
	w.WriteString("class\n")
	buf := make([]byte, 0, 32)
	for i := 0; i < rows; i++ {
		u := rng.Float64() * total
		c := 0
		for c < k-1 && u >= cum[c] {
			c++
		}
		for j := 0; j < d; j++ {
			buf = strconv.AppendFloat(buf[:0], centres[c][j]+rng.NormFloat64(), 'f', 4, 64)
			w.Write(buf)
			w.WriteByte(',')
		}
		w.WriteString(names[c])
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
