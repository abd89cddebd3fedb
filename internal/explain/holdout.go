package explain

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Holdout splits row indices into train and test, stratified by y: each
// class sends round(frac * its rows) to test, chosen by a shuffle seeded
// with seed and the class label, so a class's split does not depend on the
// other classes. A class with fewer than minRows rows stays entirely in
// train (the caller flags its held-out numbers as unavailable); every other
// class keeps at least one row on each side. Both lists are sorted.
func Holdout(y []int, frac float64, seed uint64, minRows int) (train, test []int, err error) {
	if !(frac >= 0 && frac < 1) {
		return nil, nil, fmt.Errorf("explain: holdout fraction %v outside [0, 1)", frac)
	}
	byClass := map[int][]int{}
	for i, c := range y {
		byClass[c] = append(byClass[c], i)
	}
	classes := make([]int, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	sort.Ints(classes)
	for _, c := range classes {
		idx := byClass[c]
		nt := int(math.Round(frac * float64(len(idx))))
		if len(idx) < max(minRows, 2) {
			nt = 0
		} else {
			nt = min(max(nt, 1), len(idx)-1)
			if frac == 0 {
				nt = 0
			}
		}
		// Labels may be negative; the bit pattern is only a stream selector.
		rng := rand.New(rand.NewPCG(seed, uint64(int64(c))))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		test = append(test, idx[:nt]...)
		train = append(train, idx[nt:]...)
	}
	sort.Ints(train)
	sort.Ints(test)
	return train, test, nil
}
