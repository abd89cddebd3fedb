package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/cv"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/discover"
	"github.com/ncd-project/ncd/internal/gcd"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/model"
	"github.com/ncd-project/ncd/internal/spectral"
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
	noAssign   bool    // estimate-k: no rows were assigned
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
	b.WriteString(fmt.Sprintf("\nk_new = %d (%s)", r.KNew, how))
	if !r.noAssign {
		b.WriteString(fmt.Sprintf("; %d rows in novel clusters", r.NovelRows))
	}
	return b.String()
}

func errGCDMethod(method string) error {
	return usererr.New("--setting gcd works with --method ncd-kmeans or ncd-sc, not %s", method)
}

// gcdRunOptions completes the flags' gcd options for a run: seed, threads,
// k_new fixed by --k (a number, 0 included) and --k-max; resolved.
func gcdRunOptions(v *viper.Viper, c common, o gcd.Options, k int, fixed bool) (gcd.Options, error) {
	o.Seed, o.Threads = c.Seed, c.Threads
	o.FixK, o.K = fixed, k
	o.KMax = v.GetInt("k-max")
	if o.KMax < 1 {
		return o, usererr.New("--k-max must be at least 1, got %d", o.KMax)
	}
	return o.Resolve()
}

// clusterGCDResult is cluster --setting gcd's --json object.
type clusterGCDResult struct {
	Method    string             `json:"method"`
	Setting   string             `json:"setting"`
	K         int                `json:"k"`
	Rows      int                `json:"rows"`
	Clustered int                `json:"rows_clustered"`
	Features  int                `json:"features"`
	Space     string             `json:"space"`
	Sizes     map[string]int     `json:"sizes"`
	Inertia   float64            `json:"inertia"`
	GCD       *gcdResult         `json:"gcd"`
	Out       string             `json:"out,omitempty"`
	Report    string             `json:"report,omitempty"` // --report's HTML file (cluster --model)
	Seconds   map[string]float64 `json:"seconds"`
	Wall      float64            `json:"wall_seconds"`
}

// runClusterGCD is cluster --setting gcd: the generalized pipeline
// (discover.GCDInSpace) in the z-scored features (ncd-kmeans; rows of
// --test are then assigned to the fitted centroids and scored against the
// fitted reference) or in the spectral embedding of the output rows
// (ncd-sc, transductive).
func runClusterGCD(ctx context.Context, app *App, v *viper.Viper, c common, method string, gopt gcd.Options) error {
	if method != "ncd-kmeans" && method != "ncd-sc" {
		return errGCDMethod(method)
	}
	k, fixed, err := parseKSetting(v.GetString("k"), gcd.SettingGCD)
	if err != nil {
		return err
	}
	if gopt, err = gcdRunOptions(v, c, gopt, k, fixed); err != nil {
		return err
	}
	out := v.GetString("out")
	if err := checkOutPath(out); err != nil {
		return err
	}
	seconds := map[string]float64{}
	in, err := loadInputsTimed(app, v, seconds)
	if err != nil {
		return err
	}
	fitDS, outDS := in.Train, in.Eval
	km := cluster.KMeansOptions{NInit: v.GetInt("n-init"), MaxIter: v.GetInt("max-iter"), Tol: v.GetFloat64("tol"),
		Threads: c.Threads, Rng: newRand(c.Seed)}
	E, space := fitDS.X, "features"
	t1 := time.Now()
	if method == "ncd-sc" {
		fitDS, space = outDS, "spectral"
		nc := v.GetInt("n-components")
		if nc <= 0 {
			nc = len(fitDS.Classes) + gcdSpectralExtra
		}
		bar := app.newProgress(c, 100, "spectral embedding")
		emb, _, err := spectral.Embed(ctx, fitDS.X, spectral.Options{MinDist: v.GetFloat64("min-dist"), NComponents: nc,
			Affinity: v.GetString("affinity"), KNN: v.GetInt("knn"), Tol: v.GetFloat64("eigen-tol"), Threads: c.Threads, Seed: c.Seed,
			Progress: func(_, conv, want int) {
				if want > 0 {
					bar.Set(100 * conv / want)
				}
			}})
		bar.Finish()
		if err != nil {
			return err
		}
		if v.GetString("row-norm") != "false" {
			normalizeRows(emb)
		}
		E = emb
		if km.NInit == 0 {
			km.NInit = cluster.SpectralNInit
		}
	}
	sr, err := discover.GCDInSpace(ctx, E, fitDS, gopt, km)
	if err != nil {
		return err
	}
	seconds["cluster"] = time.Since(t1).Seconds()
	unl := sr.Unlabeled
	p, novel, known, conf := sr.P, sr.Novel, sr.Known, sr.Confidence
	if outDS != fitDS {
		unl = outDS.UnlabeledRows()
		if len(unl) == 0 {
			return usererr.New("%s has no unlabeled rows to cluster (give rows an empty label, or name classes with --novel)", in.outputPath())
		}
		p, novel, known, conf = discover.ApplyGCD(sr.Reference, sr.KnownCentroids, sr.NovelCentroids, outDS.X.Select(unl), c.Threads)
	}
	names, unlMask := gcdNames(outDS, unl, novel, known)
	res := clusterGCDResult{Method: method, Setting: gcd.SettingGCD, K: sr.KNew, Rows: outDS.Rows(), Clustered: len(unl),
		Features: outDS.X.Cols, Space: space, Sizes: clusterSizes(names, unlMask), Inertia: sr.Inertia,
		GCD: newGCDResult(sr.Detection, gopt, sr.NRef, sr.NCal, novel), Out: out, Seconds: seconds}
	t3 := time.Now()
	if err := emitPredictions(app, c, out, in.outputTable(), names, unlMask, newGCDColumns(outDS, unl, novel, p, conf)); err != nil {
		return err
	}
	seconds["write"] = time.Since(t3).Seconds()
	res.Wall = time.Since(c.Start).Seconds()
	if c.JSON {
		return writeJSON(app.Stdout, res)
	}
	if !c.Quiet {
		fmt.Fprintf(app.Stderr, "%s (gcd, %s space): %d unlabeled rows\n%s\n", method, space, len(unl), gcdSummary(res.GCD))
		fmt.Fprintf(app.Stderr, "sizes: %s\n", formatSizes(res.Sizes))
		fmt.Fprintf(app.Stderr, "time: %s\n", timeSummary(res.Wall, seconds))
	}
	return nil
}

// gcdSpectralExtra: under gcd, ncd-sc embeds in (known classes + this)
// dimensions unless --n-components is given (k_new is not known yet).
const gcdSpectralExtra = 5

// normalizeRows scales each row to unit length (zero rows stay).
func normalizeRows(m linalg.Matrix) {
	for i := 0; i < m.Rows; i++ {
		r := m.Row(i)
		s := 0.0
		for _, x := range r {
			s += x * x
		}
		if s == 0 {
			continue
		}
		inv := 1 / math.Sqrt(s)
		for j := range r {
			r[j] *= inv
		}
	}
}

// runEstimateGCD is estimate-k --setting gcd on X (the z-scored features
// of --data, or a model's latent) whose labelled rows are ds's: the
// existence test, then k_new (0 when it fails) from prediction strength on
// the cohesive flagged rows. The k goes to stdout alone, as the ncd scan's.
func runEstimateGCD(ctx context.Context, app *App, v *viper.Viper, c common, X linalg.Matrix, ds *dataset.Dataset, space string, gopt gcd.Options) error {
	gopt, err := gcdRunOptions(v, c, gopt, 0, false)
	if err != nil {
		return err
	}
	if err := discover.Check(ds, ds); err != nil {
		return err
	}
	t0 := time.Now()
	unl := ds.UnlabeledRows()
	sp := discover.GCDSpace(X, ds, X.Select(unl), gopt)
	det, err := gcd.Detect(ctx, sp, gopt)
	if err != nil {
		return err
	}
	res := &estimateResult{K: det.KNew, Index: "gcd", Space: space, Rows: len(unl), Scores: map[string]jsonFloats{},
		Best: map[string]int{}, Seconds: time.Since(t0).Seconds(), Setting: gcd.SettingGCD,
		GCD: newGCDResult(det, gopt, sp.Ref.Rows, sp.Cal.Rows, nil)}
	res.GCD.noAssign = true
	if cv := det.Curve; cv != nil {
		res.Ks = cv.Ks
		res.Scores["ps"], res.Scores["ps_se"] = cv.PS, cv.SE
		res.Best["ps"] = det.KNew
	}
	res.Wall = time.Since(c.Start).Seconds()
	if !c.Quiet {
		if len(res.Ks) > 0 {
			printCurve(app.Stderr, res)
		}
		fmt.Fprintln(app.Stderr, gcdSummary(res.GCD))
	}
	if c.JSON {
		return writeJSON(app.Stdout, res)
	}
	_, err = fmt.Fprintln(app.Stdout, res.K)
	return err
}

// clusterModelGCD is cluster --model with a --setting gcd model: every
// unlabeled row of --data gets its novelty p-value against the fit's
// reference, the nearest of the known and novel centroids, and, on a known
// centroid, the class its nearest labelled rows of the fit vote for.
func clusterModelGCD(ctx context.Context, app *App, v *viper.Viper, c common, m *model.File, t *ncdio.Table, ds *dataset.Dataset, out string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	unl := ds.UnlabeledRows()
	Z := m.Embed(ds.X.Select(unl))
	p, novel, known, conf := discover.ApplyGCD(m.GCD, m.KnownCentroids, m.NovelCentroids, Z, c.Threads)
	names, unlMask := gcdNames(ds, unl, novel, known)
	g := &gcdResult{KNew: m.K, KEstimated: m.KEstimated, Alpha: m.GCD.Alpha, Novelty: m.GCD.Novelty, NCal: len(m.GCD.CalScores), NRef: m.GCD.Ref.Rows}
	for j := range unl {
		if p[j] <= m.GCD.Alpha {
			g.NFlagged++
		}
		if novel[j] >= 0 {
			g.NovelRows++
		}
	}
	res := clusterGCDResult{Method: "model", Setting: gcd.SettingGCD, K: m.K, Rows: ds.Rows(), Clustered: len(unl), Features: ds.X.Cols,
		Space: "latent", Sizes: clusterSizes(names, unlMask), GCD: g, Out: out, Seconds: map[string]float64{}}
	if err := emitPredictions(app, c, out, t, names, unlMask, newGCDColumns(ds, unl, novel, p, conf)); err != nil {
		return err
	}
	var err error
	if res.Report, err = reportWithModel(ctx, app, v, c, m, t, ds, names, unlMask); err != nil {
		return err
	}
	res.Wall = time.Since(c.Start).Seconds()
	if c.JSON {
		return writeJSON(app.Stdout, res)
	}
	if !c.Quiet {
		fmt.Fprintf(app.Stderr, "model %s (gcd, k_new=%d): %d unlabeled rows assigned, %d flagged as possibly new at alpha %g, %d in novel clusters\nsizes: %s\n",
			v.GetString("model"), m.K, len(unl), g.NFlagged, g.Alpha, g.NovelRows, formatSizes(res.Sizes))
		fmt.Fprintf(app.Stderr, "time: %s\n", timeSummary(res.Wall, nil))
	}
	return nil
}

// addTuneGCDFlags registers tune's generalized-setting flags.
func addTuneGCDFlags(cmd *cobra.Command) {
	addSettingFlags(cmd)
	f := cmd.Flags()
	f.Float64("fold-unlabel", 0.5, "--setting gcd: each fold also unlabels this share of every remaining known class's rows, which are clustered and scored with the hidden classes' rows (v2 All accuracy), in [0,1)")
	f.Int("null-folds", 2, "--setting gcd: extra folds that hide no class (their rows to cluster are only unlabeled known rows): the share with k_new > 0 is the false-discovery rate")
}

// tuneGCD switches tune's setup to the generalized setting under
// --setting gcd: the PBN method runs folds as fit --setting gcd does, the
// folds unlabel --fold-unlabel of the remaining known rows, and
// --null-folds folds hiding no class are added. Every such setting is
// recorded (a study's trials are only comparable under the same ones).
func tuneGCD(v *viper.Viper, c common, s *tuneSetup, o *cv.Options) error {
	setting, gopt, err := gcdFlags(v)
	if err != nil || setting != gcd.SettingGCD {
		return err
	}
	p, ok := s.method.(*cv.PBN)
	if !ok {
		return usererr.New("tune --setting gcd works with --method pbn or baseline, not %s", v.GetString("method"))
	}
	frac, null := v.GetFloat64("fold-unlabel"), v.GetInt("null-folds")
	if !(frac >= 0 && frac < 1) {
		return usererr.New("--fold-unlabel must be a fraction in [0, 1), got %v", frac)
	}
	if null < 0 || null > 20 {
		return usererr.New("--null-folds must be between 0 and 20, got %d", null)
	}
	if frac == 0 && null > 0 {
		return usererr.New("--null-folds needs --fold-unlabel > 0 (a null fold clusters only unlabeled known rows)")
	}
	s.method = &cv.GCDPBN{PBN: *p, GCD: gopt}
	o.Method = s.method
	o.GCD = &cv.GCDFolds{Unlabel: frac, Null: null}
	for range null {
		o.Folds = append(o.Folds, []int{})
	}
	s.folds = o.Folds
	for k, val := range map[string]any{"setting": setting, "calib-frac": gopt.CalibFrac, "alpha": gopt.Alpha, "novelty": gopt.Novelty,
		"fold-unlabel": frac, "null-folds": null} {
		s.settings[k] = fmt.Sprint(val)
	}
	return nil
}
