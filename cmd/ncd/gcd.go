package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/discover"
	"github.com/ncd-project/ncd/internal/gcd"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/usererr"
)

// addSettingFlags registers --setting and the generalized setting's flags
// (fit, cluster, estimate-k, tune).
func addSettingFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("setting", gcd.SettingNCD, "ncd: every unlabeled row is of a new class (the paper); gcd: unlabeled rows mix known and new classes, maybe no new one (see 'Generalized discovery' in the README)")
	f.Float64("calib-frac", gcd.DefaultCalibFrac, "--setting gcd: share of each known class's labeled rows held out (of the classification loss and of the novelty reference) to calibrate the novelty p-values, in (0,1)")
	f.Float64("alpha", gcd.DefaultAlpha, "--setting gcd: a row is flagged as possibly new when its novelty p-value is <= alpha, in (0,1)")
	f.String("novelty", gcd.NoveltyKNN, "--setting gcd: novelty score: knn (mean distance to the 10 nearest labeled rows) or centroid (distance to the nearest known-class mean)")
}

// gcdFlags reads --setting and, under gcd, its options (validated: user errors).
func gcdFlags(v *viper.Viper) (setting string, o gcd.Options, err error) {
	setting = strings.ToLower(strings.TrimSpace(v.GetString("setting")))
	if err := discover.CheckSetting(setting); err != nil {
		return "", o, err
	}
	if setting == "" {
		setting = gcd.SettingNCD
	}
	o = gcd.Options{CalibFrac: v.GetFloat64("calib-frac"), Alpha: v.GetFloat64("alpha"), Novelty: v.GetString("novelty")}
	// Resolve takes 0 for "the default"; from a flag it is a bad value.
	if f := o.CalibFrac; !(f > 0 && f < 1) {
		return "", o, usererr.New("--calib-frac must be a fraction strictly between 0 and 1, got %v", f)
	}
	if a := o.Alpha; !(a > 0 && a < 1) {
		return "", o, usererr.New("--alpha must be strictly between 0 and 1, got %v", a)
	}
	if _, err := o.Resolve(); err != nil {
		return "", o, err
	}
	return setting, o, nil
}

// parseKSetting is parseK, with k = 0 (no new class) legal under gcd;
// fixed tells whether --k was a number.
func parseKSetting(s, setting string) (k int, fixed bool, err error) {
	if setting == gcd.SettingGCD && strings.TrimSpace(s) == "0" {
		return 0, true, nil
	}
	k, err = parseK(s)
	return k, k > 0, err
}

// gcdColumns are the generalized setting's output columns for every row
// of ds: novel (the row is in a novel cluster), novelty_p and confidence
// (labeled rows: false, 1, 1: their class is given). unl are the
// unlabeled rows, in the order of the per-row slices.
type gcdColumns struct {
	Novel      []bool
	NoveltyP   []float64
	Confidence []float64
}

func newGCDColumns(ds *dataset.Dataset, unl []int, novel []int, p, conf []float64) *gcdColumns {
	g := &gcdColumns{Novel: make([]bool, ds.Rows()), NoveltyP: make([]float64, ds.Rows()), Confidence: make([]float64, ds.Rows())}
	for i := range g.NoveltyP {
		g.NoveltyP[i], g.Confidence[i] = 1, 1
	}
	for j, i := range unl {
		g.Novel[i] = novel[j] >= 0
		g.NoveltyP[i] = p[j]
		if conf != nil {
			g.Confidence[i] = conf[j]
		} else {
			g.Confidence[i] = math.NaN()
		}
	}
	return g
}

// appendTo adds the columns to an output table.
func (g *gcdColumns) appendTo(t *ncdio.Table) {
	if g == nil {
		return
	}
	t.AppendBool("novel", g.Novel)
	t.AppendFloat("novelty_p", g.NoveltyP)
	t.AppendFloat("confidence", g.Confidence)
}

// gcdResult is the generalized setting's part of --json.
type gcdResult struct {
	KNew       int     `json:"k_new"`
	KEstimated bool    `json:"k_new_estimated"`
	NFlagged   int     `json:"n_flagged"`
	Expected   float64 `json:"expected_flagged"` // with no new class (about alpha * rows)
	ExistP     float64 `json:"existence_p"`
	Exists     bool    `json:"new_classes"`
	Kept       int     `json:"n_cohesive"`
	NRef       int     `json:"reference_rows"`
	NCal       int     `json:"calibration_rows"`
	Alpha      float64 `json:"alpha"`
	CalibFrac  float64 `json:"calib_frac"`
	Novelty    string  `json:"novelty"`
	NovelRows  int     `json:"rows_novel"`
	Curve      *kCurve `json:"k_curve,omitempty"`
}

// kCurve is the k_new estimate's prediction-strength curve in --json.
type kCurve struct {
	Ks     []int      `json:"ks"`
	PS     jsonFloats `json:"ps"`
	SE     jsonFloats `json:"ps_se"`
	Rows   int        `json:"rows"`
	Cutoff float64    `json:"cutoff"`
}

func newGCDResult(d *gcd.Detection, o gcd.Options, nRef, nCal int, novel []int) *gcdResult {
	r := &gcdResult{KNew: d.KNew, KEstimated: d.KEstimated, NFlagged: d.NFlagged, Expected: d.Expected, ExistP: d.ExistP,
		Exists: d.Exists, Kept: len(d.Kept), NRef: nRef, NCal: nCal, Alpha: o.Alpha, CalibFrac: o.CalibFrac, Novelty: o.Novelty}
	for _, l := range novel {
		if l >= 0 {
			r.NovelRows++
		}
	}
	if c := d.Curve; c != nil {
		cut := o.PSCutoff
		if cut == 0 {
			cut = gcd.DefaultPSCutoff
		}
		r.Curve = &kCurve{Ks: c.Ks, PS: c.PS, SE: c.SE, Rows: c.Rows, Cutoff: cut}
	}
	return r
}

// gcdNames names the output rows: labeled rows their class, unlabeled rows
// their known class (known[j] >= 0) or novel_<novel[j]>.
func gcdNames(ds *dataset.Dataset, unl, novel, known []int) ([]string, []bool) {
	kn := append([]int(nil), ds.Known...)
	nv := make([]int, ds.Rows())
	for j, i := range unl {
		kn[i], nv[i] = known[j], novel[j]
	}
	return predictionNames(ds, kn, nv)
}

// gcdSummary is the human summary line of a gcd run.
func gcdSummary(r *gcdResult) string {
	var b strings.Builder
	verdict := "no new class"
	if r.Exists {
		verdict = "new classes"
	}
	b.WriteString(fmt.Sprintf("novelty: %d of the unlabeled rows flagged at alpha %g (%.1f expected with no new class): existence test p = %.3g, %s",
		r.NFlagged, r.Alpha, r.Expected, r.ExistP, verdict))
	how := "given"
	if r.KEstimated {
		how = "estimated"
	}
	b.WriteString(fmt.Sprintf("\nk_new = %d (%s); %d rows in novel clusters", r.KNew, how, r.NovelRows))
	return b.String()
}

func errGCDMethod(method string) error {
	return usererr.New("--setting gcd works with --method ncd-kmeans or ncd-sc, not %s", method)
}
