// Package par runs loops over index ranges on a fixed number of goroutines.
//
// Work is cut into chunks whose boundaries depend only on the problem size and
// the chunk size, never on the number of threads. A reduction that stores one
// partial result per chunk and combines them in chunk order is therefore
// bit-for-bit identical whatever the thread count: this is how ncd keeps
// "same seed, same output, any --threads".
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Threads returns n if positive, otherwise the number of usable CPUs.
func Threads(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// Chunks returns how many chunks of size chunk cover n items.
func Chunks(n, chunk int) int {
	if n <= 0 {
		return 0
	}
	if chunk <= 0 {
		chunk = 1
	}
	return (n + chunk - 1) / chunk
}

// For calls fn(c, lo, hi) for every chunk c = [lo, hi) of [0, n) with the given
// chunk size, spreading chunks over at most threads goroutines. fn must only
// write state owned by chunk c (or by the rows lo..hi).
func For(threads, n, chunk int, fn func(c, lo, hi int)) {
	if chunk <= 0 {
		chunk = 1
	}
	nc := Chunks(n, chunk)
	if nc == 0 {
		return
	}
	t := Threads(threads)
	if t > nc {
		t = nc
	}
	if t <= 1 {
		for c := 0; c < nc; c++ {
			lo := c * chunk
			fn(c, lo, min(lo+chunk, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(t)
	for w := 0; w < t; w++ {
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= nc {
					return
				}
				lo := c * chunk
				fn(c, lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
}

// Each calls fn(i) for i in [0, n) on at most threads goroutines, one item at
// a time. Use it for coarse independent tasks (restarts, folds, trials).
func Each(threads, n int, fn func(i int)) {
	For(threads, n, 1, func(c, _, _ int) { fn(c) })
}
