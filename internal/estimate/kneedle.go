package estimate

import "math"

// Kneedle returns the elbow of a decreasing convex curve such as k-means
// inertia against k: the Kneedle method of Satopää et al. (2011) as the
// kneed package implements it offline with sensitivity S = 1 (curve
// "convex", direction "decreasing"): normalize both axes to [0, 1], take the
// difference curve (1 - y) - x, and return the first local maximum after
// which the difference drops below that maximum minus the mean x step.
// When no such drop exists (kneed reports no knee) it falls back to the
// global maximum of the difference curve, so a k is always returned.
// ks must be strictly increasing and the same length as inertia (>= 1).
func Kneedle(ks []int, inertia []float64) int {
	n := len(ks)
	if n != len(inertia) || n == 0 {
		panic("estimate: Kneedle needs equal, non-zero lengths")
	}
	if n < 3 {
		return ks[0]
	}
	x := make([]float64, n)
	y := make([]float64, n)
	xmin, xmax := float64(ks[0]), float64(ks[n-1])
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, v := range inertia {
		ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
	}
	for i := range ks {
		x[i] = (float64(ks[i]) - xmin) / (xmax - xmin)
		if ymax > ymin {
			y[i] = (inertia[i] - ymin) / (ymax - ymin)
		}
	}
	// Decreasing convex -> knee form: y <- max(y) - y; difference curve.
	yMax := math.Inf(-1)
	for _, v := range y {
		yMax = math.Max(yMax, v)
	}
	diff := make([]float64, n)
	for i := range y {
		diff[i] = (yMax - y[i]) - x[i]
	}
	// Local extrema as scipy's argrelextrema(order=1, mode="clip"): the ends
	// compare against themselves, and plateaus count (>= / <=).
	at := func(i int) float64 { return diff[min(max(i, 0), n-1)] }
	isMax := make([]bool, n)
	isMin := make([]bool, n)
	firstMax := -1
	for i := range diff {
		isMax[i] = diff[i] >= at(i-1) && diff[i] >= at(i+1)
		isMin[i] = diff[i] <= at(i-1) && diff[i] <= at(i+1)
		if isMax[i] && firstMax < 0 {
			firstMax = i
		}
	}
	step := math.Abs((x[n-1] - x[0]) / float64(n-1)) // mean of diff(x)
	threshold, thresholdIdx := 0.0, -1
	for i := firstMax; i >= 0 && i < n-1; i++ {
		if x[i] == 1 {
			break
		}
		if isMax[i] {
			threshold = diff[i] - step
			thresholdIdx = i
		}
		if isMin[i] {
			threshold = 0
		}
		if diff[i+1] < threshold {
			return ks[thresholdIdx]
		}
	}
	best := 0
	for i := range diff {
		if diff[i] > diff[best] {
			best = i
		}
	}
	return ks[best]
}
