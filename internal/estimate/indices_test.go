package estimate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

func sortStrings(s []string) { sort.Strings(s) }

// sklearnRef holds scikit-learn 1.2.1's silhouette_score,
// calinski_harabasz_score and davies_bouldin_score for the matrices and
// labellings built by refData / refLabels, produced by
// testdata/sklearn_ref.py (Debian python3-sklearn 1.2.1, numpy 1.24.2).
var sklearnRef = []struct {
	set, labels string
	sil, ch, db float64
}{
	{"iris", "true", 0.5034774406932961, 487.33087637489984, 0.7513707094756737},
	{"iris", "mod3", -0.025578145968099104, 0.09673625041331453, 36.82959934970212},
	{"iris", "mod7", -0.07640751647596507, 0.1455727071678581, 34.609509637518975},
	{"iris", "mod30", -0.3453200409825839, 0.29348922523542803, 22.764429897886842},
	{"iris", "singletons", -0.3033833133431401, 0.8889469979523089, 22.91439063367233},
	{"iris", "sq", -0.06711999477065617, 0.19796717881922876, 31.484784487775286},
	{"wine", "true", 0.20008297882823028, 206.6781164482878, 1.5154862521642123},
	{"wine", "mod3", -0.03660554484683705, 0.010799846730170901, 202.9333129079906},
	{"wine", "mod7", -0.0886365572818878, 0.10086016522157407, 94.4424515868176},
	{"wine", "mod30", -0.3644933827417407, 0.19486034575324057, 114.05512712789849},
	{"wine", "singletons", -0.3126292592570546, 0.9524183553288138, 11.814379671837786},
	{"wine", "sq", -0.10548826368780889, 0.17242843202519617, 99.62495582254887},
	{"letter_novel", "true", 0.11291972189580314, 317.91799534224214, 2.8562040296871785},
	{"letter_novel", "mod3", -0.0040472916620413624, 0.9776889199054047, 58.126473687131316},
	{"letter_novel", "mod7", -0.013468628187606439, 1.0491145495373977, 46.252248906486265},
	{"letter_novel", "mod30", -0.03908744590912265, 0.9490511264739911, 30.247129767962804},
	{"letter_novel", "singletons", -0.2842152678950528, 1.7555690261940964, 29.92978966743159},
	{"letter_novel", "sq", -0.013448206865410517, 1.5429997491750629, 37.28979500367897},
	{"pendigits_novel", "true", 0.3116549545384992, 1118.003677722439, 1.596472047083576},
	{"pendigits_novel", "mod3", -0.004891610081661475, 1.0409536679499367, 57.60994397412864},
	{"pendigits_novel", "mod7", -0.02058365134507825, 1.1924606942391598, 55.48243796808049},
	{"pendigits_novel", "mod30", -0.06572865291702507, 1.2192772807426369, 30.253305781225},
	{"pendigits_novel", "singletons", -0.23829774062164286, 1.2530913981677374, 40.183282636986654},
	{"pendigits_novel", "sq", -0.014246096126577252, 0.8434420656481483, 51.79989098571951},
	{"optdigits_novel", "true", 0.16543483512581178, 214.5897710214846, 2.0383671341201337},
	{"optdigits_novel", "mod3", -0.005321859273266326, 0.8552571319705267, 39.33984042736734},
	{"optdigits_novel", "mod7", -0.01612938967486369, 0.8893336469521949, 26.92120549339136},
	{"optdigits_novel", "mod30", -0.06083654160474755, 0.9485182374095232, 14.904812127595495},
	{"optdigits_novel", "singletons", -0.14268684139311166, 1.0418113079111568, 17.033392218943106},
	{"optdigits_novel", "sq", -0.028232755666272997, 1.2436335189926164, 25.229921728408794},
}

func relErr(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-300)
}

func TestIndicesMatchSklearn(t *testing.T) {
	sets := map[string]refSet{}
	var order []string
	byset := map[string][][]int{}
	byidx := map[string][]int{}
	for i, r := range sklearnRef {
		if _, ok := sets[r.set]; !ok {
			if testing.Short() && r.set != "iris" && r.set != "wine" {
				continue
			}
			sets[r.set] = refData(t, r.set)
			order = append(order, r.set)
		}
		byset[r.set] = append(byset[r.set], refLabels(sets[r.set].y, r.labels))
		byidx[r.set] = append(byidx[r.set], i)
	}
	worst := map[string]float64{}
	for _, name := range order {
		X := sets[name].X
		// Two threads (when available) through SilhouetteMany; one labelling
		// also through Silhouette on one thread, which must be bit-identical.
		sils := SilhouetteMany(X, byset[name], 2)
		if one := Silhouette(X, byset[name][0], 1); one != sils[0] {
			t.Errorf("%s: Silhouette %v != SilhouetteMany %v", name, one, sils[0])
		}
		for k, i := range byidx[name] {
			r := sklearnRef[i]
			lab := byset[name][k]
			for _, c := range []struct {
				idx       string
				got, want float64
			}{
				{"silhouette", sils[k], r.sil},
				{"ch", CalinskiHarabasz(X, lab), r.ch},
				{"db", DaviesBouldin(X, lab), r.db},
			} {
				e := relErr(c.got, c.want)
				worst[c.idx] = math.Max(worst[c.idx], e)
				if e > 1e-9 || math.IsNaN(c.got) {
					t.Errorf("%s/%s %s: got %.17g want %.17g (rel %.2g)", r.set, r.labels, c.idx, c.got, c.want, e)
				}
			}
		}
	}
	t.Logf("worst relative error vs scikit-learn: %v", worst)
}

// TestSilhouetteHand checks a case worked by hand: points 0, 1 (label a) and
// 5 (label b) on a line. Row 0: a = 1, b = 5 -> 0.8; row 1: a = 1, b = 4 ->
// 0.75; row 2 is alone in b -> 0. Mean 1.55/3.
func TestSilhouetteHand(t *testing.T) {
	X := linalg.FromRows([][]float64{{0}, {1}, {5}})
	if got, want := Silhouette(X, []int{7, 7, 3}, 1), 1.55/3; math.Abs(got-want) > 1e-15 {
		t.Fatalf("got %v want %v", got, want)
	}
	// Identical points in two clusters: a = b = 0 gives 0 (scikit-learn's nan -> 0).
	Y := linalg.FromRows([][]float64{{2, 2}, {2, 2}, {2, 2}, {2, 2}})
	if got := Silhouette(Y, []int{0, 0, 1, 1}, 1); got != 0 {
		t.Fatalf("duplicates: got %v", got)
	}
	// One label, or one label per row, is undefined (scikit-learn raises).
	if !math.IsNaN(Silhouette(X, []int{1, 1, 1}, 1)) || !math.IsNaN(Silhouette(X, []int{0, 1, 2}, 1)) {
		t.Fatal("want NaN for 1 or n labels")
	}
	if !math.IsNaN(CalinskiHarabasz(X, []int{1, 1, 1})) || !math.IsNaN(DaviesBouldin(X, []int{0, 1, 2})) {
		t.Fatal("want NaN for 1 or n labels")
	}
	// CH by hand: centroids 0.5 and 5, mean 2: extra = 2*2.25 + 9 = 13.5,
	// intra = 0.5, CH = 13.5 * (3-2) / (0.5 * 1) = 27.
	if got := CalinskiHarabasz(X, []int{0, 0, 1}); math.Abs(got-27) > 1e-12 {
		t.Fatalf("CH %v want 27", got)
	}
	// DB by hand: s_a = 0.5, s_b = 0, d = 4.5: both clusters' worst ratio
	// 0.5/4.5, mean 1/9.
	if got := DaviesBouldin(X, []int{0, 0, 1}); math.Abs(got-1.0/9) > 1e-15 {
		t.Fatalf("DB %v want 1/9", got)
	}
}

// TestSilhouetteManyDedupAndThreads: renamed copies of a partition score
// identically, and the result does not depend on the thread count.
func TestSilhouetteManyDedupAndThreads(t *testing.T) {
	X, _, _ := loadCSV(t, "iris.csv")
	n := X.Rows
	a := make([]int, n)
	b := make([]int, n)
	c := make([]int, n)
	for i := range a {
		a[i] = (i * 7) % 5
		b[i] = 40 - a[i] // same partition, other names
		c[i] = i % 4
	}
	r1 := SilhouetteMany(X, [][]int{a, b, c}, 1)
	r2 := SilhouetteMany(X, [][]int{c, a}, 3)
	if r1[0] != r1[1] || r1[0] != r2[1] || r1[2] != r2[0] {
		t.Fatalf("%v %v", r1, r2)
	}
	// Brute force on the same data with direct distances.
	for _, lab := range [][]int{a, c} {
		if got, want := Silhouette(X, lab, 2), bruteSilhouette(X, lab); relErr(got, want) > 1e-12 {
			t.Fatalf("got %v brute %v", got, want)
		}
	}
}

func bruteSilhouette(X linalg.Matrix, lab []int) float64 {
	n := X.Rows
	size := map[int]float64{}
	for _, l := range lab {
		size[l]++
	}
	total := 0.0
	for i := 0; i < n; i++ {
		sum := map[int]float64{}
		for j := 0; j < n; j++ {
			sum[lab[j]] += math.Sqrt(linalg.SqDistRows(X.Row(i), X.Row(j)))
		}
		if size[lab[i]] == 1 {
			continue
		}
		a := sum[lab[i]] / (size[lab[i]] - 1)
		b := math.Inf(1)
		for l, s := range sum {
			if l != lab[i] {
				b = math.Min(b, s/size[l])
			}
		}
		if d := math.Max(a, b); d > 0 {
			total += (b - a) / d
		}
	}
	return total / float64(n)
}

// TestSilhouetteManyDerived: labellings that differ from an earlier one in
// a few rows (and in label names) are scored from it; the result must equal
// scoring them alone (to rounding) and the brute force.
func TestSilhouetteManyDerived(t *testing.T) {
	X, _ := blobs(6, 150, 3, 4, 1, 9)    // 900 rows: one column tile
	big, _ := blobs(5, 1000, 2, 4, 1, 2) // 5000 rows: three column tiles
	for _, X := range []linalg.Matrix{X, big} {
		n := X.Rows
		rng := rand.New(rand.NewPCG(3, 3))
		cur := make([]int, n) // cluster ids 0..5
		for i := range cur {
			cur[i] = i % 6
		}
		var labs [][]int
		for step := 0; step < 4; step++ { // a chain: each differs from the previous one
			l := make([]int, n)
			for i := range cur {
				if step > 0 && rng.IntN(20) == 0 {
					cur[i] = rng.IntN(6) // move a few rows
				}
				l[i] = 1000*step + ((cur[i]+step)%6)*10 // and rename the clusters
			}
			labs = append(labs, l)
		}
		uniq := make([]*prepared, len(labs))
		for i, l := range labs {
			uniq[i] = prepare(l, n)
		}
		plan(uniq, n)
		for i := 1; i < len(uniq); i++ {
			if uniq[i].base != i-1 {
				t.Fatalf("labelling %d: base %d, want %d", i, uniq[i].base, i-1)
			}
		}
		got := SilhouetteMany(X, labs, 2)
		for i, l := range labs {
			alone := Silhouette(X, l, 1)
			if relErr(got[i], alone) > 1e-13 {
				t.Errorf("n=%d labelling %d: %v derived, %v alone", n, i, got[i], alone)
			}
			if n < 1000 {
				if b := bruteSilhouette(X, l); relErr(got[i], b) > 1e-12 {
					t.Errorf("labelling %d: %v, brute force %v", i, got[i], b)
				}
			}
		}
	}
}

// Three points on a line, 0 and 1 in one cluster, 5 alone in another:
// silhouettes 0.8, 0.75 and 0 (singleton).
func ExampleSilhouette() {
	X := linalg.FromRows([][]float64{{0}, {1}, {5}})
	fmt.Printf("%.4f\n", Silhouette(X, []int{0, 0, 1}, 1))
	// Output: 0.5167
}
