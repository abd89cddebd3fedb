package par

import (
	"sync/atomic"
	"testing"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 5} {
		for _, n := range []int{0, 1, 7, 100, 1001} {
			hits := make([]int32, n)
			var chunks atomic.Int32
			For(threads, n, 16, func(c, lo, hi int) {
				chunks.Add(1)
				if lo != c*16 || hi > n || hi-lo > 16 {
					t.Errorf("chunk %d = [%d,%d)", c, lo, hi)
				}
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("threads %d n %d: index %d visited %d times", threads, n, i, h)
				}
			}
			if int(chunks.Load()) != Chunks(n, 16) {
				t.Fatalf("threads %d n %d: %d chunks, want %d", threads, n, chunks.Load(), Chunks(n, 16))
			}
		}
	}
}

// A per-chunk reduction combined in chunk order is bit-identical whatever
// the thread count: the property ncd's determinism rests on.
func TestChunkOrderReductionIsThreadIndependent(t *testing.T) {
	x := make([]float64, 10007)
	for i := range x {
		x[i] = 1 / float64(i+1)
	}
	sum := func(threads int) float64 {
		parts := make([]float64, Chunks(len(x), 64))
		For(threads, len(x), 64, func(c, lo, hi int) {
			for _, v := range x[lo:hi] {
				parts[c] += v
			}
		})
		s := 0.0
		for _, p := range parts {
			s += p
		}
		return s
	}
	if a, b := sum(1), sum(3); a != b {
		t.Fatalf("sum differs: %v vs %v", a, b)
	}
}
