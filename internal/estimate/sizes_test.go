package estimate

import (
	"math"
	"strings"
	"testing"
)

// The chi-square quantile with 2 degrees of freedom is -2 ln(1 - p), so
// three known classes give hand-computable bounds: the upper 95% bound of
// the coefficient of variation is cv * sqrt(2 / (-2 ln .95)).
func TestSizesHandComputed(t *testing.T) {
	chi2 := -2 * math.Log(0.95)
	for _, tc := range []struct {
		name      string
		known     []int
		unlabeled int
		cv, khat  float64
		k         int
		used      bool
		reason    string
	}{
		// sd 10 (n-1), cv .1, upper .4415, sd of k = .4415 sqrt(4 + 16/3) = 1.349.
		{"uneven", []int{100, 110, 90}, 400, 0.1, 4, 4, false, "too uneven"},
		// sd 100, cv .01, upper .04415 (above the floor 1/sqrt(10000)),
		// sd of k = .04415 sqrt(5 + 25/3) = .1612.
		{"even", []int{9900, 10100, 10000}, 50000, 0.01, 5, 5, true, "50000 unlabeled rows / 10000 rows per known class"},
		// equal sizes: the floor 1/sqrt(1000) = .03162 gives sd .03162 sqrt(3.5 + 3.5^2/4)
		// = .0810, and 3.5 classes' worth of rows is 6.2 sd from a whole number.
		{"half", []int{1000, 1000, 1000, 1000}, 3500, 0, 3.5, 4, false, "not a whole number"},
		// floor .1: sd .1 sqrt(3 + 9/4) = .229.
		{"exact", []int{100, 100, 100, 100}, 300, 0, 3, 3, true, "= 3.00 +- 0.23"},
		// floor 1/sqrt(5) = .447: sd .447 sqrt(2 + 1) = .775.
		{"tiny", []int{5, 5, 5, 5}, 10, 0, 2, 2, false, "too small"},
		{"two classes", []int{100, 100}, 300, 0, 0, 0, false, "3 needed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Sizes(tc.known, tc.unlabeled)
			if e.Used != tc.used || e.K != tc.k || math.Abs(e.CV-tc.cv) > 1e-12 || math.Abs(e.KHat-tc.khat) > 1e-12 {
				t.Fatalf("got %+v", e)
			}
			if !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("reason %q lacks %q", e.Reason, tc.reason)
			}
			if len(tc.known) == 3 {
				up := max(tc.cv*math.Sqrt(2/chi2), 1/math.Sqrt(e.MeanSize))
				sd := up * math.Sqrt(tc.khat+tc.khat*tc.khat/3)
				if math.Abs(e.CVUpper-up) > 1e-9 || math.Abs(e.SD-sd) > 1e-9 {
					t.Fatalf("cv upper %v sd %v, want %v %v", e.CVUpper, e.SD, up, sd)
				}
			}
		})
	}
	// The gate: sd of k at most .39; the floor .1 (100 rows a class) gives
	// sd .1 sqrt(5 + 25/3) = .3651, over the chi-square bound's .04415.
	if e := Sizes([]int{99, 101, 100}, 500); !e.Used || math.Abs(e.SD-0.36515) > 1e-4 {
		t.Fatalf("sd %v", e.SD)
	}
}

func TestApplySizes(t *testing.T) {
	c := &Curve{Ks: []int{2, 3, 4, 5, 6}, K: 2}
	ApplySizes(c, []int{100, 100, 100}, 500, 2, "")
	if c.K != 5 || !c.Sizes.Used || c.Sizes.ScanK != 2 {
		t.Fatalf("k %d sizes %+v", c.K, c.Sizes)
	}
	// The scan is the latent space's in fit, the raw features' in
	// estimate-k and cluster: the line names neither.
	if s := c.Sizes.Summary(); !strings.Contains(s, "k = 5 from the class sizes") || !strings.Contains(s, "; the scan alone (--k-rule stable) gives 2") {
		t.Fatalf("summary %q", s)
	}
	// A note of the scan (too few rows for prediction strength) is about
	// the scan's k, not the one used.
	// Ten known classes of 15 rows and 15 unlabeled rows: one class's
	// worth (floor 1/sqrt(15) = .258, sd .258 sqrt(1 + 1/10) = .271).
	ten := []int{15, 15, 15, 15, 15, 15, 15, 15, 15, 15}
	c = &Curve{Ks: []int{2, 3, 4, 5}, K: 2, Fallback: tooFewForPS(15)}
	ApplySizes(c, ten, 15, 2, "")
	if c.K != 1 || !c.Sizes.Used || math.Abs(c.Sizes.SD-0.27080) > 1e-4 || c.Fallback != "the scan's own k (2, not used: k is the class sizes'): "+tooFewForPS(15) {
		t.Fatalf("k %d fallback %q sizes %+v", c.K, c.Fallback, c.Sizes)
	}
	c = &Curve{Ks: []int{2, 3, 4, 5}, K: 1, Fallback: "note"}
	ApplySizes(c, ten, 15, 2, "")
	if c.K != 1 || c.Fallback != "the scan's own k (1, the class sizes' too): note" {
		t.Fatalf("k %d fallback %q", c.K, c.Fallback)
	}
	c = &Curve{Ks: []int{2, 3, 4}, K: 3, Fallback: "note"}
	ApplySizes(c, []int{100, 100, 100}, 500, 2, "")
	if c.Fallback != "note" {
		t.Fatalf("fallback %q", c.Fallback)
	}
	if c.K != 3 || c.Sizes.Used || !strings.Contains(c.Sizes.Reason, "above the largest k scanned (4)") {
		t.Fatalf("k %d sizes %+v", c.K, c.Sizes)
	}
	c = &Curve{Ks: []int{3, 4, 5}, K: 4}
	ApplySizes(c, []int{100, 100, 100}, 200, 3, "")
	if c.K != 4 || c.Sizes.Used || !strings.Contains(c.Sizes.Reason, "below --k-min 3") {
		t.Fatalf("k %d sizes %+v", c.K, c.Sizes)
	}
	c = &Curve{Ks: []int{2, 3}, K: 3}
	ApplySizes(c, nil, 0, 2, "no table")
	if c.K != 3 || c.Sizes.Used || !strings.Contains(c.Sizes.Summary(), "k = 3 from the scan (--k-rule sizes fell back to stable: no table") {
		t.Fatalf("k %d sizes %+v", c.K, c.Sizes)
	}
	// k = 1 is a possible answer (the stable rule's range starts at 1).
	c = &Curve{Ks: []int{2, 3}, K: 3}
	ApplySizes(c, []int{100, 100, 100, 100}, 100, 2, "")
	if c.K != 1 || !c.Sizes.Used {
		t.Fatalf("k %d sizes %+v", c.K, c.Sizes)
	}
}
