// Package estimate chooses the number of novel classes: cluster validity
// indices (silhouette, Calinski-Harabasz, Davies-Bouldin, the Kneedle elbow
// of the inertia curve) scanned over k with k-means, and the known-class
// accuracy search of the generalized category discovery literature.
//
// The indices match scikit-learn 1.2's silhouette_score,
// calinski_harabasz_score and davies_bouldin_score (tests compare to 1e-9).
package estimate

import (
	"fmt"
	"math"

	"github.com/ncd-project/ncd/internal/linalg"
)

// centroids returns the encoded labels, k, per-label sizes and the k x d
// matrix of label means.
func centroids(X linalg.Matrix, labels []int) ([]int32, int, []float64, linalg.Matrix) {
	if len(labels) != X.Rows {
		panic(fmt.Sprintf("estimate: %d labels for %d rows", len(labels), X.Rows))
	}
	lab, k := encode(labels)
	size := make([]float64, k)
	cen := linalg.New(k, X.Cols)
	for i, l := range lab {
		size[l]++
		row := cen.Row(int(l))
		for j, v := range X.Row(i) {
			row[j] += v
		}
	}
	for c := 0; c < k; c++ {
		row := cen.Row(c)
		for j := range row {
			row[j] /= size[c]
		}
	}
	return lab, k, size, cen
}

// CalinskiHarabasz is the variance ratio criterion (between-cluster over
// within-cluster dispersion, each divided by its degrees of freedom), as
// scikit-learn's calinski_harabasz_score: 1 when the within-cluster
// dispersion is 0. NaN when the labelling has fewer than 2 or more than
// rows-1 distinct labels. Higher is better.
func CalinskiHarabasz(X linalg.Matrix, labels []int) float64 {
	lab, k, size, cen := centroids(X, labels)
	n := X.Rows
	if k < 2 || k > n-1 {
		return math.NaN()
	}
	mean := make([]float64, X.Cols)
	for i := 0; i < n; i++ {
		for j, v := range X.Row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	extra, intra := 0.0, 0.0
	for c := 0; c < k; c++ {
		extra += size[c] * linalg.SqDistRows(cen.Row(c), mean)
	}
	for i, l := range lab {
		intra += linalg.SqDistRows(X.Row(i), cen.Row(int(l)))
	}
	if intra == 0 {
		return 1
	}
	return extra * float64(n-k) / (intra * float64(k-1))
}

// DaviesBouldin is the mean over clusters of the worst ratio (s_i + s_j) /
// d(c_i, c_j), where s is a cluster's mean distance to its centroid, as
// scikit-learn's davies_bouldin_score: 0 when every s (or every centroid
// distance) is within 1e-8 of 0, and coinciding centroids are ignored. NaN
// when the labelling has fewer than 2 or more than rows-1 distinct labels.
// Lower is better.
func DaviesBouldin(X linalg.Matrix, labels []int) float64 {
	lab, k, size, cen := centroids(X, labels)
	n := X.Rows
	if k < 2 || k > n-1 {
		return math.NaN()
	}
	intra := make([]float64, k)
	for i, l := range lab {
		intra[l] += math.Sqrt(linalg.SqDistRows(X.Row(i), cen.Row(int(l))))
	}
	allSmall := true
	for c := range intra {
		intra[c] /= size[c]
		if math.Abs(intra[c]) > 1e-8 {
			allSmall = false
		}
	}
	cd := make([]float64, k*k)
	cdSmall := true
	for a := 0; a < k; a++ {
		for b := a + 1; b < k; b++ {
			v := math.Sqrt(linalg.SqDistRows(cen.Row(a), cen.Row(b)))
			cd[a*k+b], cd[b*k+a] = v, v
			if v > 1e-8 {
				cdSmall = false
			}
		}
	}
	// np.allclose(x, 0) in scikit-learn: every |x| <= 1e-8.
	if allSmall || cdSmall {
		return 0
	}
	total := 0.0
	for a := 0; a < k; a++ {
		worst := math.Inf(-1)
		for b := 0; b < k; b++ {
			v := cd[a*k+b]
			if v == 0 {
				v = math.Inf(1) // scikit-learn sets zero centroid distances (and the diagonal) to inf
			}
			worst = math.Max(worst, (intra[a]+intra[b])/v)
		}
		total += worst
	}
	return total / float64(k)
}
