package estimate

import (
	"math/rand/v2"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// letterNovel is letter_train's novel rows (A D H M P V X), z-scored with
// all-train statistics: 3832 x 16.
func letterNovel(tb testing.TB) linalg.Matrix {
	X, y, _ := loadCSV(tb, "letter_train.csv")
	Z, _ := novelZ(X, y, "ADHMPVX", false)
	return Z
}

// randomLabelings returns runs random labellings for each k in [2, 30]
// (87 for runs = 3), all distinct partitions.
func randomLabelings(n, runs int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out [][]int
	for k := 2; k <= 30; k++ {
		for r := 0; r < runs; r++ {
			l := make([]int, n)
			for i := range l {
				l[i] = rng.IntN(k)
			}
			out = append(out, l)
		}
	}
	return out
}

// BenchmarkSilhouetteMany scores 87 labellings (k = 2..30, 3 each) of letter's
// 3832 novel rows in one pass: 3832^2 * 87 = 1.28e9 distance gathers.
func BenchmarkSilhouetteMany(b *testing.B) {
	X := letterNovel(b)
	labs := randomLabelings(X.Rows, 3, 7)
	for _, th := range []int{1, 2} {
		b.Run(map[int]string{1: "threads=1", 2: "threads=2"}[th], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				SilhouetteMany(X, labs, th)
			}
		})
	}
}
