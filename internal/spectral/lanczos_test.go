package spectral

import (
	"math"
	"testing"
)

// TestCheckSchedule checks the convergence-check schedule on hand-computed
// residual histories.
func TestCheckSchedule(t *testing.T) {
	var c checkSchedule
	// No rate yet: 4 iterations later.
	if got := c.next(10, []float64{1e-9, 1e-6}, 1e-8); got != 14 {
		t.Fatalf("first check: next = %d, want 14", got)
	}
	// 1e-6 -> 1e-7 over 10 iterations: one decade per 10 iterations, one
	// more decade to tol = 1e-8: 10 iterations, within the cap of
	// max(2, 20/2) = 10.
	c = checkSchedule{prevIt: 10, prevLog: math.Log(1e-6)}
	if got := c.next(20, []float64{1e-7}, 1e-8); got != 30 {
		t.Fatalf("geometric decay: next = %d, want 30", got)
	}
	// Two decades left at that rate (20 iterations) but capped at half the
	// iterations so far (15 at iteration 30).
	c = checkSchedule{prevIt: 20, prevLog: math.Log(1e-5)}
	if got := c.next(30, []float64{1e-6, 1e-7, 1e-9}, 1e-9); got != 45 {
		t.Fatalf("capped: next = %d, want 45", got)
	}
	// A fast decay: 1e-4 -> 1e-8 in 4 iterations (a decade per iteration),
	// one decade to tol: the next iteration.
	c = checkSchedule{prevIt: 4, prevLog: math.Log(1e-4)}
	if got := c.next(8, []float64{1e-8}, 1e-9); got != 9 {
		t.Fatalf("fast decay: next = %d, want 9", got)
	}
	// A residual that grew: no rate, 4 iterations later; the state moves on.
	c = checkSchedule{prevIt: 4, prevLog: math.Log(1e-8)}
	if got := c.next(8, []float64{1e-7}, 1e-9); got != 12 || c.prevIt != 8 {
		t.Fatalf("growing residual: next = %d (prevIt %d), want 12 (8)", got, c.prevIt)
	}
}
