package estimate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// RuleSizes (the default) takes k from the class sizes when the known
// classes' sizes are even enough to give it (see Sizes), and otherwise runs
// RuleStable. A scan given it directly runs RuleStable; the caller, which
// knows the classes, applies the sizes (discover.ChooseK).
const RuleSizes = "sizes"

// Size-rule constants. SizesMaxSD is the largest standard deviation of the
// size estimate of k that is still trusted: below it, rounding gives the
// right k with probability at least .8 under a normal error (.5/.39 = 1.28
// standard deviations). SizesMaxZ bounds how far the estimate may fall
// from the integer it rounds to, in standard deviations: further, the
// novel classes are not sized like the known ones. SizesConfidence is the
// confidence of the upper bound on the sizes' spread.
const (
	SizesMaxSD      = 0.39
	SizesMaxZ       = 2.0
	SizesConfidence = 0.95
)

// SizeEstimate is the number of novel classes the class sizes imply. When
// the rows were labelled or left unlabeled by class (the novel classes'
// rows are all unlabeled, a known class's rows all labelled, or the same
// share of each), the unlabeled rows hold about k novel classes' worth of
// rows. If the novel classes are sized like the known ones, k is about
// Unlabeled / MeanSize, and the spread of the known sizes says how sure
// that is: with sizes of mean m and standard deviation s (c = s/m), the
// sum of k sizes has a standard deviation of sqrt(k) s and the mean of C
// known sizes one of m c / sqrt(C), so the estimate's is about
// c sqrt(k + k^2/C). The rule uses the upper 95% confidence bound of c
// (chi-square, C - 1 degrees of freedom), since a few known classes say
// little about the spread, and at least 1/sqrt(m), the spread of class
// counts in a random sample of rows. On the benchmark suite, balanced
// tables (letter, pendigits, optdigits: c <= .04) give k with a standard
// deviation of .19-.34; tables of uneven classes (zoo, soybean, tissue,
// glass, oils, shuttle: .54 and more) are left to the scan's rule.
type SizeEstimate struct {
	KnownClasses int     `json:"known_classes"`
	MeanSize     float64 `json:"mean_known_size"`
	// CV is the known sizes' coefficient of variation (sample standard
	// deviation over mean); CVUpper its upper confidence bound.
	CV        float64 `json:"cv"`
	CVUpper   float64 `json:"cv_upper"`
	Unlabeled int     `json:"unlabeled_rows"`
	// KHat is Unlabeled / MeanSize, SD its standard deviation (from
	// CVUpper) and K the nearest integer (at least 1).
	KHat float64 `json:"k_hat"`
	SD   float64 `json:"sd"`
	K    int     `json:"k"`
	// Used tells whether K was taken; Reason says why or why not.
	Used   bool   `json:"used"`
	Reason string `json:"reason"`
	// ScanK is the scan's own k (RuleStable, in the space scanned: the
	// latent space in fit, the features in estimate-k and cluster), set by
	// ApplySizes.
	ScanK int `json:"scan_k,omitempty"`
}

// Summary is the line that says how RuleSizes chose k.
func (e *SizeEstimate) Summary() string {
	if e.Used {
		s := fmt.Sprintf("k = %d from the class sizes (--k-rule sizes): %s", e.K, e.Reason)
		if e.ScanK != e.K {
			s += fmt.Sprintf("; the scan alone (--k-rule stable) gives %d", e.ScanK)
		}
		return s
	}
	return fmt.Sprintf("k = %d from the scan (--k-rule sizes fell back to stable: %s)", e.ScanK, e.Reason)
}

// Sizes returns the size estimate for known class sizes (labelled rows
// per known class) and the number of unlabeled rows, with Used set when
// it is precise enough to be k: SD <= SizesMaxSD and KHat within
// SizesMaxZ standard deviations of K. It needs 3 known classes (2 give
// no usable bound on the spread).
func Sizes(known []int, unlabeled int) SizeEstimate {
	e := SizeEstimate{KnownClasses: len(known), Unlabeled: unlabeled}
	C := len(known)
	if C < 3 {
		e.Reason = fmt.Sprintf("%d known classes say too little about how class sizes vary (3 needed)", C)
		return e
	}
	sum := 0.0
	for _, n := range known {
		sum += float64(n)
	}
	m := sum / float64(C)
	if m <= 0 || unlabeled <= 0 {
		e.Reason = "no rows to compare"
		return e
	}
	ss := 0.0
	for _, n := range known {
		d := float64(n) - m
		ss += d * d
	}
	e.MeanSize = m
	e.CV = math.Sqrt(ss/float64(C-1)) / m
	chi := distuv.ChiSquared{K: float64(C - 1)}.Quantile(1 - SizesConfidence)
	// At least the spread of counts in a random sample (Poisson: a class
	// of m rows varies by sqrt(m)), so that a few equal classes, exactly
	// equal by quota or by chance, are not taken as a law.
	floor := 1 / math.Sqrt(m)
	e.CVUpper = max(e.CV*math.Sqrt(float64(C-1)/chi), floor)
	e.KHat = float64(unlabeled) / m
	e.SD = e.CVUpper * math.Sqrt(e.KHat+e.KHat*e.KHat/float64(C))
	e.K = max(1, int(math.Round(e.KHat)))
	switch z := math.Abs(e.KHat-float64(e.K)) / math.Max(e.SD, 1e-9); {
	case e.SD > SizesMaxSD && e.CVUpper == floor:
		e.Reason = fmt.Sprintf("known classes too small to give k (%.0f rows each: k = %.1f +- %.1f)", m, e.KHat, e.SD)
	case e.SD > SizesMaxSD:
		e.Reason = fmt.Sprintf("known class sizes too uneven to give k (spread %.0f%%, up to %.0f%%: k = %.1f +- %.1f)", 100*e.CV, 100*e.CVUpper, e.KHat, e.SD)
	case z > SizesMaxZ:
		e.Reason = fmt.Sprintf("the unlabeled rows (%d) are not a whole number of known-class sizes (%.0f rows each: k = %.2f +- %.2f)", unlabeled, m, e.KHat, e.SD)
	default:
		e.Used = true
		e.Reason = fmt.Sprintf("%d unlabeled rows / %.0f rows per known class (sizes vary %.0f%%) = %.2f +- %.2f novel classes", unlabeled, m, 100*e.CV, e.KHat, e.SD)
	}
	return e
}

// ApplySizes finishes a RuleSizes scan c (run as RuleStable) of the rows
// of a table whose known classes have the sizes known and whose unlabeled
// rows number unlabeled (nil known: no such table; the scan's k stands):
// it records the size estimate in c.Sizes and, when it is used, makes its
// k the curve's. A k above the scanned range (--k-max, or the rows) or
// below an explicit --k-min above 2 is not used. c.Ks must be the scan's.
// When the sizes' k is used, a fallback note of the scan (c.Fallback) says
// it concerns the scan's own k.
// With nil known, why says why there are no sizes to compare.
func ApplySizes(c *Curve, known []int, unlabeled, kMin int, why string) {
	if known == nil {
		c.Sizes = &SizeEstimate{Reason: why, ScanK: c.K}
		return
	}
	e := Sizes(known, unlabeled)
	e.ScanK = c.K
	limitSizes(&e, kMin, c.Ks[len(c.Ks)-1])
	if e.Used {
		c.K = e.K
		if c.Fallback != "" {
			// The note is about the scan's own k, which was not taken.
			how := "not used: k is the class sizes'"
			if e.ScanK == e.K {
				how = "the class sizes' too"
			}
			c.Fallback = fmt.Sprintf("the scan's own k (%d, %s): %s", e.ScanK, how, c.Fallback)
		}
	}
	c.Sizes = &e
}

// limitSizes leaves the sizes' k unused when it lies above kMax, the
// largest k scanned, or below an explicit kMin above 2.
func limitSizes(e *SizeEstimate, kMin, kMax int) {
	switch {
	case !e.Used:
	case e.K > kMax:
		e.Used, e.Reason = false, fmt.Sprintf("k = %d from the class sizes is above the largest k scanned (%d)", e.K, kMax)
	case kMin > 2 && e.K < kMin:
		e.Used, e.Reason = false, fmt.Sprintf("k = %d from the class sizes is below --k-min %d", e.K, kMin)
	}
}

// SizesInRange is the size estimate ApplySizes would take after a scan of
// rows rows with the options o: Sizes, not used when its k lies outside
// the range that scan covers. (An invalid o returns Sizes unchanged; the
// scan itself reports the error.)
func SizesInRange(known []int, unlabeled, rows int, o ScanOptions) SizeEstimate {
	e := Sizes(known, unlabeled)
	if r, err := o.resolve(rows); err == nil {
		limitSizes(&e, r.KMin, r.KMax)
	}
	return e
}
