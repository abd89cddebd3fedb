// Command gcdbench measures the generalized setting (`--setting gcd`) on the
// bundled letter, pendigits and optdigits training tables, the acceptance
// protocol of issue #12 (docs/designs/gcd.md section 5): scenarios S1 (the
// paper's novel classes), S2 (one novel class: A / 0 / 0) and S3 (none),
// with a share of every known class's labels hidden (--unlabel-known), 8
// networks, scored on the unlabeled training rows with GCD's v2 metrics.
// Every run is compared with today's mode (`--setting ncd`) and, for
// acc_old_named, with the closed classifier (the ncd networks' classifier,
// trained on all the labelled rows). Trained networks are cached. Output:
// one JSON line per run (-json) and a summary table on stdout.
//
//	go run ./internal/gcdbench -json gcd.jsonl
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/discover"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/gcd"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/metrics"
	"github.com/ncd-project/ncd/internal/model"
	"github.com/ncd-project/ncd/internal/pbn"
)

// The paper's novel classes and the one-class scenario's.
var (
	novelAll = map[string][]string{
		"letter": {"A", "D", "H", "M", "P", "V", "X"}, "pendigits": {"0", "3", "5", "6", "7"}, "optdigits": {"0", "3", "4", "5", "6"},
	}
	novelOne = map[string][]string{"letter": {"A"}, "pendigits": {"0"}, "optdigits": {"0"}}
)

type scenario struct {
	name string
	frac float64
	all  bool // S1
	none bool // S3
}

var scenarios = map[string]scenario{
	"s1":    {name: "s1", frac: .5, all: true},
	"s1-.3": {name: "s1-.3", frac: .3, all: true},
	"s2":    {name: "s2", frac: .5},
	"s3":    {name: "s3", frac: .5, none: true},
}

// run is one (dataset, scenario, seed, setting) outcome.
type run struct {
	Data     string  `json:"data"`
	Scenario string  `json:"scenario"`
	Seed     int     `json:"seed"`
	Setting  string  `json:"setting"`
	Rows     int     `json:"rows_unlabeled"`
	KNew     int     `json:"k_new"`
	KTrue    int     `json:"k_new_true"`
	ACC      float64 `json:"acc"`
	ACCOld   float64 `json:"acc_old"`
	ACCNew   float64 `json:"acc_new"`
	Named    float64 `json:"acc_old_named"`
	ACCTrueK float64 `json:"acc_true_k,omitempty"`
	// gcd only
	NFlagged  int       `json:"n_flagged,omitempty"`
	Expected  float64   `json:"expected_flagged,omitempty"`
	ExistP    float64   `json:"exist_p,omitempty"`
	Exists    bool      `json:"exists,omitempty"`
	Kept      int       `json:"kept,omitempty"`
	PS        []float64 `json:"ps,omitempty"`
	PSKnown   []float64 `json:"ps_known,omitempty"`
	AUROCKNN  float64   `json:"auroc_knn,omitempty"`
	AUROCCent float64   `json:"auroc_centroid,omitempty"`
	AUROCMSP  float64   `json:"auroc_msp,omitempty"`
	FlagPrec  float64   `json:"flag_precision,omitempty"`
	FlagRec   float64   `json:"flag_recall,omitempty"`
	// ncd only: the closed classifier on the old unlabeled rows
	ClosedNamed float64 `json:"closed_old_named,omitempty"`
	// gcd only: how well two namers name the old unlabeled rows: the
	// ensemble classifier (trained without the calibration rows) and a
	// 10-NN vote over every labelled row (calibration rows included)
	NamerCls   float64 `json:"namer_classifier_old,omitempty"`
	NamerKNN   float64 `json:"namer_knn_old,omitempty"`
	TrainSec   float64 `json:"train_seconds"`
	ClusterSec float64 `json:"cluster_seconds"`
}

func main() {
	var (
		dataDir  = flag.String("data", "testdata", "folder of {letter,pendigits,optdigits}_train.csv")
		datasets = flag.String("datasets", "letter,pendigits,optdigits", "tables")
		scen     = flag.String("scenarios", "s3,s2,s1,s1-.3", "scenarios: s1 (paper's novel classes, .5 unlabeled), s1-.3, s2 (one), s3 (none)")
		seeds    = flag.String("seeds", "0,1,2,3,4", "seeds")
		settings = flag.String("settings", "gcd,ncd", "settings to run")
		ncdScen  = flag.String("ncd-scenarios", "s1,s3", "scenarios today's mode (ncd) runs in (the comparison and the closed classifier)")
		ens      = flag.Int("ensemble", 8, "networks")
		epochs   = flag.Int("epochs", 0, "epochs (0: default)")
		threads  = flag.Int("threads", 0, "threads (0: all)")
		cacheDir = flag.String("cache", filepath.Join(os.TempDir(), "ncd-gcd-cache"), "trained networks are kept here")
		jsonOut  = flag.String("json", "", "append one JSON line per run here (runs already in it are skipped)")
		alpha    = flag.Float64("alpha", 0, "gcd --alpha (0: default)")
		calib    = flag.Float64("calib-frac", 0, "gcd --calib-frac (0: default)")
		cutoff   = flag.Float64("ps-cutoff", 0, "gcd prediction-strength cutoff (0: default)")
		knownQ   = flag.Float64("known-quantile", 0, "gcd: quantile of the known classes' prediction strength (0: default)")
		noKnown  = flag.Bool("no-known-cutoff", false, "gcd: without the known classes' prediction strength as a further cutoff")
		ncdSeeds = flag.String("ncd-seeds", "0,1", "seeds today's mode (ncd) runs with")
	)
	flag.Parse()
	if err := os.MkdirAll(*cacheDir, 0o755); err != nil {
		fail(err)
	}
	var jw io.Writer = io.Discard
	done := map[string]bool{}
	if b, err := os.ReadFile(*jsonOut); err == nil && *jsonOut != "" {
		for _, line := range strings.Split(string(b), "\n") {
			var r run
			if json.Unmarshal([]byte(line), &r) == nil {
				done[fmt.Sprint(r.Data, r.Scenario, r.Seed, r.Setting)] = true
			}
		}
	}
	if *jsonOut != "" {
		f, err := os.OpenFile(*jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		jw = f
	}
	cfg := pbn.DefaultConfig()
	if *epochs > 0 {
		cfg.Epochs = *epochs
	}
	cfg.Threads = *threads
	g := gcd.Options{Alpha: *alpha, CalibFrac: *calib, PSCutoff: *cutoff, NoKnownCutoff: *noKnown, KnownQuantile: *knownQ}
	for _, s := range strings.Split(*seeds, ",") {
		seed, err := strconv.Atoi(s)
		if err != nil {
			fail(err)
		}
		for _, sc := range strings.Split(*scen, ",") {
			for _, d := range strings.Split(*datasets, ",") {
				for _, st := range strings.Split(*settings, ",") {
					if st == gcd.SettingNCD && (!slices.Contains(strings.Split(*ncdScen, ","), sc) || !slices.Contains(strings.Split(*ncdSeeds, ","), s)) {
						continue
					}
					if done[fmt.Sprint(d, sc, seed, st)] {
						continue
					}
					r, err := one(d, scenarios[sc], seed, st, *dataDir, cfg, *ens, g, *cacheDir)
					if err != nil {
						fail(fmt.Errorf("%s %s seed %d %s: %w", d, sc, seed, st, err))
					}
					b, _ := json.Marshal(r)
					fmt.Fprintln(jw, string(b))
					fmt.Printf("%-9s %-5s seed %d %s: k_new %d (true %d) acc %.3f old %.3f new %.3f named %.3f flagged %d existP %.3g auroc %.3f/%.3f closed %.3f train %.0fs cluster %.1fs\n",
						d, sc, seed, st, r.KNew, r.KTrue, r.ACC, r.ACCOld, r.ACCNew, r.Named, r.NFlagged, r.ExistP, r.AUROCKNN, r.AUROCCent, r.ClosedNamed, r.TrainSec, r.ClusterSec)
				}
			}
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gcdbench:", err)
	os.Exit(1)
}

// cached is what the cache keeps of a training.
type cached struct {
	Members []*pbn.Model
	Seconds float64
}

func one(name string, sc scenario, seed int, setting, dir string, cfg pbn.Config, ens int, g gcd.Options, cacheDir string) (*run, error) {
	ctx := context.Background()
	t, err := ncdio.ReadWith(filepath.Join(dir, name+"_train.csv"), nil, ncdio.ReadOptions{Text: []string{"class"}})
	if err != nil {
		return nil, err
	}
	var novel []string
	switch {
	case sc.all:
		novel = novelAll[name]
	case !sc.none:
		novel = novelOne[name]
	}
	prep, err := ncdio.Fit(t, ncdio.Roles{Target: "class", Novel: novel, UnlabelKnown: sc.frac, UnlabelSeed: uint64(seed)})
	if err != nil {
		return nil, err
	}
	train, err := prep.Transform(t)
	if err != nil {
		return nil, err
	}
	cfg.Seed = uint64(seed)
	o := discover.PBNOptions{Config: cfg, Ensemble: ens, Normalized: true, NInit: 10, Setting: setting, GCD: g,
		K: discover.KOptions{Scan: estimate.ScanOptions{KMin: 2, KMax: 30, NInit: 10, Rule: estimate.RuleStable}}}
	ts, err := discover.TrainingSet(train, o)
	if err != nil {
		return nil, err
	}
	cal := ""
	if setting == gcd.SettingGCD {
		gg := g
		if gg.CalibFrac == 0 {
			gg.CalibFrac = gcd.DefaultCalibFrac
		}
		cal = fmt.Sprintf("-cal%.3g", gg.CalibFrac)
	}
	key := fmt.Sprintf("%s-%s-s%d-e%d-%d%s", name, sc.name, seed, ens, cfg.Epochs, cal)
	path := filepath.Join(cacheDir, key+".ncdm")
	var m cached
	if err := model.LoadFile(path, &m); err != nil || len(m.Members) != ens {
		t0 := time.Now()
		nets, err := discover.TrainPBN(ctx, ts, o)
		if err != nil {
			return nil, err
		}
		m = cached{Members: nets, Seconds: time.Since(t0).Seconds()}
		if err := model.SaveFile(path, &m); err != nil {
			return nil, err
		}
	}
	t1 := time.Now()
	var res *discover.Result
	if setting == gcd.SettingNCD && sc.none {
		// today's mode has nothing to find; only its classifier is used
		res = &discover.Result{Members: m.Members, Normalized: true, Unlabeled: train.UnlabeledRows(), K: -1}
		res.Labels = make([]int, len(res.Unlabeled))
	} else if res, err = discover.ClusterLatent(ctx, m.Members, train, train, o); err != nil {
		return nil, err
	}
	r := &run{Data: name, Scenario: sc.name, Seed: seed, Setting: setting, Rows: len(res.Unlabeled), KNew: res.K,
		KTrue: len(novel), TrainSec: m.Seconds, ClusterSec: time.Since(t1).Seconds()}
	truth := make([]string, len(res.Unlabeled))
	for j, i := range res.Unlabeled {
		truth[j] = train.Truth[i]
	}
	pred := names(train, res.Labels, res.GCD)
	rep := metrics.GCD(truth, pred, train.Classes)
	r.ACC, r.ACCOld, r.ACCNew, r.Named = rep.ACC, rep.ACCOld, rep.ACCNew, rep.ACCOldNamed
	isNew := make([]bool, len(truth))
	for j, c := range truth {
		isNew[j] = !slices.Contains(train.Classes, c)
	}
	X := train.X.Select(res.Unlabeled)
	proba := pbn.ProbaEnsemble(m.Members, X)
	msp := make([]float64, X.Rows)
	for i := range msp {
		msp[i] = -slices.Max(proba.Row(i))
	}
	if setting == gcd.SettingGCD {
		d := res.GCD
		r.NFlagged, r.Expected, r.ExistP, r.Exists, r.Kept = d.NFlagged, d.Expected, d.ExistP, d.Exists, len(d.Kept)
		if d.Curve != nil {
			r.PS = d.Curve.PS
			for _, v := range d.Curve.Known {
				if math.IsNaN(v) {
					v = -1
				}
				r.PSKnown = append(r.PSKnown, v)
			}
		}
		r.AUROCKNN = gcd.AUROC(d.Scores, isNew)
		r.AUROCMSP = gcd.AUROC(msp, isNew)
		gopt, _ := g.Resolve()
		gopt.Seed = uint64(seed)
		sp := discover.GCDSpace(res.Embed(train.X), train, res.Embed(X), gopt)
		cent := gcd.CentroidScores(sp.Unl, cluster.KnownMeans(sp.Ref, sp.RefClass, sp.NClasses), 0)
		r.AUROCCent = gcd.AUROC(cent, isNew)
		r.NamerCls, r.NamerKNN = namers(train, res, proba, isNew)
		tp, fl, nw := 0, 0, 0
		for j, f := range d.Flag {
			if f {
				fl++
				if isNew[j] {
					tp++
				}
			}
			if isNew[j] {
				nw++
			}
		}
		if fl > 0 {
			r.FlagPrec = float64(tp) / float64(fl)
		}
		if nw > 0 {
			r.FlagRec = float64(tp) / float64(nw)
		}
		if r.KTrue > 0 && r.KTrue != r.KNew {
			o2 := o
			o2.K.K = r.KTrue
			res2, err := discover.ClusterLatent(ctx, m.Members, train, train, o2)
			if err != nil {
				return nil, err
			}
			r.ACCTrueK = metrics.GCD(truth, names(train, res2.Labels, res2.GCD), train.Classes).ACC
		} else if r.KTrue == r.KNew {
			r.ACCTrueK = r.ACC
		}
	} else {
		// the closed classifier: every unlabeled row named by the networks
		// trained on all the labelled rows
		closed := make([]string, X.Rows)
		for i := range closed {
			row := proba.Row(i)
			closed[i] = train.Classes[slices.Index(row, slices.Max(row))]
		}
		r.ClosedNamed = metrics.GCD(truth, closed, train.Classes).ACCOldNamed
		r.AUROCMSP = gcd.AUROC(msp, isNew)
	}
	if math.IsNaN(r.AUROCKNN) {
		r.AUROCKNN = 0
	}
	if math.IsNaN(r.AUROCCent) {
		r.AUROCCent = 0
	}
	if math.IsNaN(r.AUROCMSP) {
		r.AUROCMSP = 0
	}
	return r, nil
}

// names names the unlabeled rows: novel_j, or the known class.
func names(train *dataset.Dataset, labels []int, g *discover.GCDResult) []string {
	out := make([]string, len(labels))
	for j, l := range labels {
		if l >= 0 {
			out[j] = "novel_" + strconv.Itoa(l)
		} else {
			out[j] = train.Classes[g.Known[j]]
		}
	}
	return out
}

// namers returns the share of old unlabeled rows named right by the
// classifier (proba's argmax) and by a 10-NN vote over all labelled rows.
func namers(train *dataset.Dataset, res *discover.Result, proba linalg.Matrix, isNew []bool) (float64, float64) {
	lab := train.LabeledRows()
	L := res.Embed(train.X.Select(lab))
	U := res.Embed(train.X.Select(res.Unlabeled))
	cls := make([]int, len(lab))
	for j, i := range lab {
		cls[j] = train.Known[i]
	}
	vote, _ := gcd.Name(U, L, cls, len(train.Classes), 10, 0)
	hitC, hitK, n := 0, 0, 0
	for i := range isNew {
		if isNew[i] {
			continue
		}
		truth := train.Truth[res.Unlabeled[i]]
		n++
		row := proba.Row(i)
		if train.Classes[slices.Index(row, slices.Max(row))] == truth {
			hitC++
		}
		if train.Classes[vote[i]] == truth {
			hitK++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(hitC) / float64(n), float64(hitK) / float64(n)
}
