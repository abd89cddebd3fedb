package discover

import (
	"slices"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
)

// sizedTable is a dataset of known-class rows (counts[c] rows of class c)
// followed by unl unlabeled rows; only Known and Classes matter here.
func sizedTable(counts []int, unl int) *dataset.Dataset {
	d := &dataset.Dataset{}
	for c, n := range counts {
		d.Classes = append(d.Classes, string(rune('a'+c)))
		for range n {
			d.Known = append(d.Known, c)
		}
	}
	for range unl {
		d.Known = append(d.Known, dataset.Unlabeled)
	}
	return d
}

// TestSizeInput: the sizes compared are those of the table whose unlabeled
// rows are clustered (target) when it has rows of 3 known classes too; the
// fitting table's otherwise; none when the unlabeled rows mix known classes
// in.
func TestSizeInput(t *testing.T) {
	train := sizedTable([]int{100, 101, 99}, 200) // 2 novel classes' worth
	// fit --test: the test table's unlabeled rows hold 3 classes' worth
	// (say a class that only the test period has): its own sizes count.
	test := sizedTable([]int{50, 50, 51}, 150)
	for _, tc := range []struct {
		name          string
		train, target *dataset.Dataset
		known         []int
		unl           int
		why           string
	}{
		{"one table", train, train, []int{100, 101, 99}, 200, ""},
		{"--test with labels", train, test, []int{50, 50, 51}, 150, ""},
		// A --test table without rows of known class b: b is no size.
		{"--test lacks a known class", train, sizedTable([]int{50, 0, 50, 51}, 150), []int{50, 50, 51}, 150, ""},
		// Rows of 2 known classes say too little: --data's sizes.
		{"--test with 2 known classes", train, sizedTable([]int{50, 0, 50}, 150), []int{100, 101, 99}, 200, ""},
		{"both with 2 known classes", sizedTable([]int{10, 10}, 20), sizedTable([]int{5, 5}, 10), []int{5, 5}, 10, ""},
		{"--test all unlabeled", train, sizedTable(nil, 40), []int{100, 101, 99}, 200, ""},
		{"--test all unlabeled, --data no unlabeled", sizedTable([]int{10, 10, 10}, 0), sizedTable(nil, 40), nil, 0, "no table with both"},
		{"--unlabel-known", &dataset.Dataset{Known: train.Known, Classes: train.Classes, MixedUnlabeled: true}, test, nil, 0, "--unlabel-known"},
	} {
		known, unl, why := SizeInput(tc.train, tc.target)
		if !slices.Equal(known, tc.known) || unl != tc.unl || !strings.Contains(why, tc.why) || (tc.why == "") != (why == "") {
			t.Errorf("%s: got %v %d %q, want %v %d %q", tc.name, known, unl, why, tc.known, tc.unl, tc.why)
		}
	}
}
