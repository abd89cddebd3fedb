// Command benchsuite is the yardstick for ncd's defaults: every labelled
// table with at least 5 classes that the project can reach (testdata/ and
// ../shared/datasets), each with several seeded random choices of novel
// classes, a seeded stratified train/test split where none is official, and
// the default pipeline (`ncd fit`: 8 networks, k estimated in the latent).
// Per (table, split) it reports the true and estimated k and ACC / NMI / ARI
// of the test split's novel rows at the estimated and at the true k, for
// every k rule asked for (-rules), so that rules are compared on the same
// trained networks. `make bench-suite` runs it.
//
// A third of the tables are a validation set (marked in the output): they
// are looked at only after a default was chosen on the others, so the suite
// does not become a new three-point fit.
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/discover"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/folds"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/metrics"
	"github.com/ncd-project/ncd/internal/model"
	"github.com/ncd-project/ncd/internal/pbn"
)

// table is one suite dataset: one file (split here) or an official split.
type table struct {
	name        string
	file        string // single file, split by the suite
	train, test string // official split
	validation  bool
}

// The suite. Validation tables (a third) were fixed before any rule was
// compared and are reported apart.
var tables = []table{
	{name: "letter", train: "letter_train.csv", test: "letter_test.csv"},
	{name: "pendigits", train: "pendigits_train.csv", test: "pendigits_test.csv"},
	{name: "optdigits", train: "optdigits_train.csv", test: "optdigits_test.csv"},
	{name: "zoo", file: "zoo.csv"},
	{name: "soybean", file: "soybean.csv"},
	{name: "tissue", file: "tissue_gene_expression.csv"},
	{name: "glass", file: "glass.csv", validation: true},
	{name: "oils", file: "oils.csv", validation: true},
	{name: "shuttle", file: "shuttle.csv", validation: true},
}

// outcome is one (table, split, rule) result.
type outcome struct {
	Table      string  `json:"table"`
	Validation bool    `json:"validation"`
	Split      int     `json:"split"`
	Novel      string  `json:"novel"`
	Rule       string  `json:"rule"`
	TrainRows  int     `json:"train_rows"`
	Rows       int     `json:"rows"` // test novel rows clustered
	KTrue      int     `json:"k_true"`
	K          int     `json:"k"`
	ACC        float64 `json:"acc"`
	NMI        float64 `json:"nmi"`
	ARI        float64 `json:"ari"`
	ACCTrue    float64 `json:"acc_true_k"`
	NMITrue    float64 `json:"nmi_true_k"`
	ARITrue    float64 `json:"ari_true_k"`
	TrainSec   float64 `json:"train_seconds"`
	EstSec     float64 `json:"estimate_seconds"`
}

func main() {
	var (
		dirs     = flag.String("data", "testdata,../shared/datasets", "comma-separated folders searched for the tables")
		only     = flag.String("tables", "", "comma-separated table names (default: all)")
		splits   = flag.Int("splits", 3, "seeded choices of novel classes (and splits) per table")
		from     = flag.Int("from", 0, "first split (earlier ones are skipped: fresh splits for a check)")
		rules    = flag.String("rules", "1se,stable,sizes", "comma-separated k rules to compare (estimate.ScanOptions.Rule)")
		ens      = flag.Int("ensemble", 8, "networks per fit")
		threads  = flag.Int("threads", 0, "threads (0 = all)")
		cacheDir = flag.String("cache", filepath.Join(os.TempDir(), "ncd-suite-cache"), "trained networks are kept here (keyed by table, split, seed and configuration)")
		jsonOut  = flag.String("json", "", "also write every outcome as JSON lines to this file")
		epochs   = flag.Int("epochs", 0, "training epochs (0 = the default)")
		curveOut = flag.String("curves", "", "research mode: write every split's k curves (silhouette, prediction strength, member agreement, ACC at each k) as JSON lines here, and nothing else")
		tuneOut  = flag.String("tune", "", "tuned-pipeline mode: run `ncd tune` then `ncd fit --config best.yaml` (the -bin binary) on every split and write the outcomes as JSON lines here, and nothing else")
		bin      = flag.String("bin", "bin/ncd", "the ncd binary (-tune)")
		trials   = flag.Int("trials", 30, "tune trials (-tune)")
		withVal  = flag.Bool("validation", false, "also run the validation tables (look at them only after a default is chosen)")
		probeOut = flag.String("probe", "", "research mode: per split and hidden-class fold (as -calib), k-means on the fold's hidden training rows together with the novel rows, in the fold networks' latent, at every total k: the probe rows' ACC and more, as JSON lines here, and nothing else")
		sizes    = flag.Bool("sizes", false, "research mode: print every split's class sizes as JSON lines, and nothing else")
		calibOut = flag.String("calib", "", "research mode: write every split's novel curves and the curves of hidden-class folds of its known classes (networks trained without them) as JSON lines here, and nothing else")
		nFolds   = flag.Int("calib-folds", 3, "hidden-class folds per split (-calib)")
		foldEns  = flag.Int("calib-ensemble", 2, "networks per fold (-calib)")
	)
	flag.Parse()
	if err := os.MkdirAll(*cacheDir, 0o755); err != nil {
		fail(err)
	}
	jw, cw, tw, kw, pw := create(*jsonOut), create(*curveOut), create(*tuneOut), create(*calibOut), create(*probeOut)
	cfg := pbn.DefaultConfig()
	if *epochs > 0 {
		cfg.Epochs = *epochs
	}
	cfg.Threads = *threads
	var all []outcome
	for _, tb := range tables {
		if *only != "" && !slices.Contains(splitList(*only), tb.name) {
			continue
		}
		if tb.validation && !*withVal {
			continue
		}
		for s := *from; s < *splits; s++ {
			if tw != nil {
				if _, err := runTuned(tb, s, splitList(*dirs), *bin, *trials, *threads, tw); err != nil {
					fail(fmt.Errorf("%s split %d: %w", tb.name, s, err))
				}
				continue
			}
			if *sizes {
				train, test, _, _, err := load(tb, s, splitList(*dirs), cfg, 0, *cacheDir)
				if err != nil {
					fail(err)
				}
				count := func(d *dataset.Dataset) []int {
					n := make([]int, len(d.Classes))
					for _, i := range d.LabeledRows() {
						n[d.Known[i]]++
					}
					return n
				}
				present := map[string]bool{}
				for _, i := range test.UnlabeledRows() {
					present[test.Truth[i]] = true
				}
				b, _ := json.Marshal(map[string]any{"table": tb.name, "split": s, "k_true": len(present), "train_known": count(train),
					"train_unl": len(train.UnlabeledRows()), "test_known": count(test), "test_unl": len(test.UnlabeledRows()),
					"sizes": func() estimate.SizeEstimate {
						known, unl, _ := discover.SizeInput(train, test) // what the pipeline compares
						return estimate.Sizes(known, unl)
					}()})
				fmt.Println(string(b))
				continue
			}
			if pw != nil {
				if err := probeSplit(tb, s, splitList(*dirs), cfg, *ens, *nFolds, *foldEns, *cacheDir, pw); err != nil {
					fail(fmt.Errorf("%s split %d: %w", tb.name, s, err))
				}
				continue
			}
			if kw != nil {
				if err := calibSplit(tb, s, splitList(*dirs), cfg, *ens, *nFolds, *foldEns, *cacheDir, kw); err != nil {
					fail(fmt.Errorf("%s split %d: %w", tb.name, s, err))
				}
				continue
			}
			if cw != nil {
				if err := researchSplit(tb, s, splitList(*dirs), cfg, *ens, *cacheDir, cw); err != nil {
					fail(fmt.Errorf("%s split %d: %w", tb.name, s, err))
				}
				continue
			}
			outs, err := runSplit(tb, s, splitList(*dirs), splitList(*rules), cfg, *ens, *cacheDir)
			if err != nil {
				fail(fmt.Errorf("%s split %d: %w", tb.name, s, err))
			}
			for _, o := range outs {
				fmt.Fprintf(os.Stderr, "%-9s split %d rule %-6s k %2d (true %2d)  ACC %.3f (true k %.3f)  train %.1fs est %.2fs\n",
					o.Table, o.Split, o.Rule, o.K, o.KTrue, o.ACC, o.ACCTrue, o.TrainSec, o.EstSec)
				if jw != nil {
					b, _ := json.Marshal(o)
					fmt.Fprintln(jw, string(b))
				}
			}
			all = append(all, outs...)
		}
	}
	printTables(os.Stdout, all, splitList(*rules))
}

// create opens an output file ("" = none: nil). The files are closed
// when the process exits.
func create(path string) io.Writer {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		fail(err)
	}
	return f
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchsuite:", err)
	os.Exit(1)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func find(dirs []string, name string) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in %s", name, strings.Join(dirs, ", "))
}

// readCSV returns the header and the records of a bundled CSV.
func readCSV(path string) ([]string, [][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	return recs[0], recs[1:], nil
}

func writeCSV(path string, header []string, recs [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(header)
	w.WriteAll(recs)
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// seedOf derives a table's split seed from its name and the split number.
func seedOf(name string, s int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", name, s)
	return h.Sum64()
}

// prepare writes the split's train and test CSVs into dir and returns their
// paths and the novel classes. The novel classes are a seeded random third
// to half of the classes (at least 2 stay known); a table without an
// official split is split stratified by class, 30% test (50% below 1000
// rows, so that small classes keep test rows).
func prepare(tb table, s int, dirs []string, dir string) (train, test string, novel []string, err error) {
	rng := rand.New(rand.NewPCG(seedOf(tb.name, s), 0x7375697465)) // "suite"
	var header []string
	var trRecs, teRecs [][]string
	if tb.file != "" {
		path, err := find(dirs, tb.file)
		if err != nil {
			return "", "", nil, err
		}
		h, recs, err := readCSV(path)
		if err != nil {
			return "", "", nil, err
		}
		header = h
		frac := 0.3
		if len(recs) < 1000 {
			frac = 0.5
		}
		byClass := map[string][]int{}
		var classes []string
		for i, r := range recs {
			c := r[len(r)-1]
			if _, ok := byClass[c]; !ok {
				classes = append(classes, c)
			}
			byClass[c] = append(byClass[c], i)
		}
		sort.Strings(classes)
		isTest := make([]bool, len(recs))
		for _, c := range classes {
			idx := byClass[c]
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			nt := int(math.Round(frac * float64(len(idx))))
			for _, i := range idx[:nt] {
				isTest[i] = true
			}
		}
		for i, r := range recs {
			if isTest[i] {
				teRecs = append(teRecs, r)
			} else {
				trRecs = append(trRecs, r)
			}
		}
	} else {
		for _, part := range []struct {
			name string
			dst  *[][]string
		}{{tb.train, &trRecs}, {tb.test, &teRecs}} {
			path, err := find(dirs, part.name)
			if err != nil {
				return "", "", nil, err
			}
			h, recs, err := readCSV(path)
			if err != nil {
				return "", "", nil, err
			}
			header, *part.dst = h, recs
		}
	}
	seen := map[string]bool{}
	var classes []string
	for _, r := range trRecs {
		if c := r[len(r)-1]; !seen[c] {
			seen[c] = true
			classes = append(classes, c)
		}
	}
	sort.Strings(classes)
	C := len(classes)
	lo, hi := (C+2)/3, C/2
	hi = min(hi, C-2)
	n := lo
	if hi > lo {
		n += rng.IntN(hi - lo + 1)
	}
	perm := rng.Perm(C)
	for _, i := range perm[:n] {
		novel = append(novel, classes[i])
	}
	sort.Strings(novel)
	train, test = filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
	if err := writeCSV(train, header, trRecs); err != nil {
		return "", "", nil, err
	}
	if err := writeCSV(test, header, teRecs); err != nil {
		return "", "", nil, err
	}
	return train, test, novel, nil
}

// members is what the cache keeps of a training.
type members struct {
	Members []*pbn.Model
	Seconds float64
}

// load prepares a split and trains (or takes from the cache) its networks.
func load(tb table, s int, dirs []string, cfg pbn.Config, ens int, cacheDir string) (train, test *dataset.Dataset, novel []string, m members, err error) {
	dir, err := os.MkdirTemp("", "ncd-suite-")
	if err != nil {
		return nil, nil, nil, m, err
	}
	defer os.RemoveAll(dir)
	trainPath, testPath, novel, err := prepare(tb, s, dirs, dir)
	if err != nil {
		return nil, nil, nil, m, err
	}
	ro := ncdio.ReadOptions{Text: []string{"class"}}
	trT, err := ncdio.ReadWith(trainPath, nil, ro)
	if err != nil {
		return nil, nil, nil, m, err
	}
	teT, err := ncdio.ReadWith(testPath, nil, ro)
	if err != nil {
		return nil, nil, nil, m, err
	}
	prep, err := ncdio.Fit(trT, ncdio.Roles{Target: "class", Novel: novel})
	if err != nil {
		return nil, nil, nil, m, err
	}
	train, err = prep.Transform(trT)
	if err != nil {
		return nil, nil, nil, m, err
	}
	test, err = prep.Transform(teT)
	if err != nil {
		return nil, nil, nil, m, err
	}
	if ens == 0 {
		return train, test, novel, m, nil
	}
	cfg.Seed = uint64(s)
	key := fmt.Sprintf("%s-s%d-e%d-%d-%.4g-%.4g-%.4g-%d-%d", tb.name, s, ens, cfg.Epochs, cfg.LR, cfg.W, cfg.Dropout, cfg.LatentDim, cfg.Seed)
	cachePath := filepath.Join(cacheDir, key+".ncdm")
	ctx := context.Background()
	if err := model.LoadFile(cachePath, &m); err != nil || len(m.Members) != ens {
		t0 := time.Now()
		nets, err := discover.TrainPBN(ctx, train, discover.PBNOptions{Config: cfg, Ensemble: ens})
		if err != nil {
			return nil, nil, nil, m, err
		}
		m = members{Members: nets, Seconds: time.Since(t0).Seconds()}
		if err := model.SaveFile(cachePath, &m); err != nil {
			return nil, nil, nil, m, err
		}
	}
	return train, test, novel, m, nil
}

func runSplit(tb table, s int, dirs, rules []string, cfg pbn.Config, ens int, cacheDir string) ([]outcome, error) {
	ctx := context.Background()
	train, test, novel, m, err := load(tb, s, dirs, cfg, ens, cacheDir)
	if err != nil {
		return nil, err
	}
	cfg.Seed = uint64(s)
	unl := test.UnlabeledRows()
	truth := make([]string, len(unl))
	present := map[string]bool{}
	for j, i := range unl {
		truth[j] = test.Truth[i]
		present[truth[j]] = true
	}
	kTrue := len(present)
	score := func(r *discover.Result) metrics.Report {
		pred := make([]string, len(r.Labels))
		for j, l := range r.Labels {
			pred[j] = "novel_" + strconv.Itoa(l)
		}
		return metrics.Score(truth, pred)
	}
	opts := discover.PBNOptions{Config: cfg, Ensemble: ens, Normalized: true}
	opts.K.K = kTrue
	atTrue, err := discover.ClusterLatent(ctx, m.Members, train, test, opts)
	if err != nil {
		return nil, err
	}
	rt := score(atTrue)
	var outs []outcome
	for _, rule := range rules {
		o := opts
		o.K = discover.KOptions{Scan: estimate.ScanOptions{Rule: rule}}
		r, err := discover.ClusterLatent(ctx, m.Members, train, test, o)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", rule, err)
		}
		rep := score(r)
		outs = append(outs, outcome{Table: tb.name, Validation: tb.validation, Split: s, Novel: strings.Join(novel, ","), Rule: rule,
			TrainRows: train.Rows(), Rows: len(unl), KTrue: kTrue, K: r.K, ACC: rep.ACC, NMI: rep.NMI, ARI: rep.ARI,
			ACCTrue: rt.ACC, NMITrue: rt.NMI, ARITrue: rt.ARI, TrainSec: m.Seconds, EstSec: r.Seconds["estimate_k"]})
	}
	return outs, nil
}

// printTables writes the per-split table and the per-table summary (mean
// |k_found - k| and ACC per rule; validation tables apart).
func printTables(w io.Writer, all []outcome, rules []string) {
	fmt.Fprintln(w, "| table | split | novel | rows | true k | "+strings.Join(mapS(rules, func(r string) string { return "k " + r }), " | ")+" | "+
		strings.Join(mapS(rules, func(r string) string { return "ACC " + r }), " | ")+" | ACC true k | train s |")
	fmt.Fprintln(w, "|"+strings.Repeat("---|", 6+2*len(rules)+1))
	type key struct {
		t string
		s int
	}
	byKey := map[key]map[string]outcome{}
	var order []key
	for _, o := range all {
		k := key{o.Table, o.Split}
		if byKey[k] == nil {
			byKey[k] = map[string]outcome{}
			order = append(order, k)
		}
		byKey[k][o.Rule] = o
	}
	for _, k := range order {
		row := byKey[k]
		var any outcome
		for _, o := range row {
			any = o
		}
		name := any.Table
		if any.Validation {
			name += " (val)"
		}
		cells := []string{name, strconv.Itoa(k.s), any.Novel, strconv.Itoa(any.Rows), strconv.Itoa(any.KTrue)}
		for _, r := range rules {
			cells = append(cells, strconv.Itoa(row[r].K))
		}
		for _, r := range rules {
			cells = append(cells, f3(row[r].ACC))
		}
		cells = append(cells, f3(any.ACCTrue), fmt.Sprintf("%.1f", any.TrainSec))
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| table | "+strings.Join(mapS(rules, func(r string) string { return "mean abs(k-k*) " + r }), " | ")+" | "+
		strings.Join(mapS(rules, func(r string) string { return "ACC " + r }), " | ")+" | ACC true k |")
	fmt.Fprintln(w, "|"+strings.Repeat("---|", 2+2*len(rules)))
	type agg struct {
		dk, acc map[string]float64
		accT    float64
		n       int
	}
	per := map[string]*agg{}
	var names []string
	val := map[string]bool{}
	for _, o := range all {
		a := per[o.Table]
		if a == nil {
			a = &agg{dk: map[string]float64{}, acc: map[string]float64{}}
			per[o.Table] = a
			names = append(names, o.Table)
			val[o.Table] = o.Validation
		}
		a.dk[o.Rule] += math.Abs(float64(o.K - o.KTrue))
		a.acc[o.Rule] += o.ACC
		if o.Rule == rules[0] {
			a.accT += o.ACCTrue
			a.n++
		}
	}
	line := func(name string, as []*agg) {
		cells := []string{name}
		for _, r := range rules {
			s := 0.0
			for _, a := range as {
				s += a.dk[r] / float64(a.n)
			}
			cells = append(cells, fmt.Sprintf("%.2f", s/float64(len(as))))
		}
		for _, r := range rules {
			s := 0.0
			for _, a := range as {
				s += a.acc[r] / float64(a.n)
			}
			cells = append(cells, f3(s/float64(len(as))))
		}
		s := 0.0
		for _, a := range as {
			s += a.accT / float64(a.n)
		}
		cells = append(cells, f3(s/float64(len(as))))
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
	var dev, vals []*agg
	for _, n := range names {
		label := n
		if val[n] {
			label += " (val)"
			vals = append(vals, per[n])
		} else {
			dev = append(dev, per[n])
		}
		line(label, []*agg{per[n]})
	}
	if len(dev) > 0 {
		line("**mean, development**", dev)
	}
	if len(vals) > 0 {
		line("**mean, validation**", vals)
	}
	if len(dev) > 0 && len(vals) > 0 {
		line("**mean, all**", append(append([]*agg{}, dev...), vals...))
	}
}

func mapS(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

func f3(x float64) string {
	s := fmt.Sprintf("%.3f", x)
	return strings.Replace(s, "0.", ".", 1)
}

// curves is the research record of one space: every k's scores and the
// clustering quality at that k, so that any rule can be evaluated offline.
type curves struct {
	Ks      []int     `json:"ks"` // 1..KMax
	Sil     []float64 `json:"silhouette"`
	K1SE    int       `json:"k_1se"`
	KMax    int       `json:"k_max"`
	PS      []float64 `json:"ps"`
	PSSE    []float64 `json:"ps_se"`
	PS2     []float64 `json:"ps2"` // 10 splits, 10 restarts, strict
	PS2SE   []float64 `json:"ps2_se"`
	Agree   []float64 `json:"agree"`
	ACC     []float64 `json:"acc"`
	NMI     []float64 `json:"nmi"`
	ARI     []float64 `json:"ari"`
	KTrue   int       `json:"k_true"`
	Inertia []float64 `json:"inertia"` // k-means inertia per row at each k
	WClass  float64   `json:"w_class"` // mean squared distance of a row to its true class mean
	WTrain  float64   `json:"w_train"` // the same for the labeled training rows (known classes)
	Rows    int       `json:"rows"`
	Seconds float64   `json:"seconds"`
}

type curveRecord struct {
	Table      string  `json:"table"`
	Validation bool    `json:"validation"`
	Split      int     `json:"split"`
	Novel      *curves `json:"novel"`
	Known      *curves `json:"known"`
}

// research computes the curves of Z (rows with true labels truth).
func research(ctx context.Context, Z linalg.Matrix, truth []string, blocks int, seed uint64, threads int) (*curves, error) {
	t0 := time.Now()
	kmax := min(30, Z.Rows-1)
	present := map[string]bool{}
	for _, t := range truth {
		present[t] = true
	}
	c := &curves{KTrue: len(present), Rows: Z.Rows}
	for k := 1; k <= kmax; k++ {
		c.Ks = append(c.Ks, k)
	}
	sc, err := estimate.Scan(ctx, Z, estimate.ScanOptions{KMin: 2, KMax: kmax, Rule: estimate.RuleMax, Seed: seed, Threads: threads})
	if err != nil {
		return nil, err
	}
	c.Sil = append([]float64{0}, sc.Scores[estimate.IndexSilhouette]...) // k = 1: undefined, written as 0 (JSON has no NaN)
	c.KMax = sc.K
	s1, err := estimate.Scan(ctx, Z, estimate.ScanOptions{KMin: 2, KMax: kmax, Rule: estimate.RuleOneSE, Seed: seed, Threads: threads})
	if err != nil {
		return nil, err
	}
	c.K1SE = s1.K
	so := estimate.StabilityOptions{Seed: seed, Threads: threads}
	if c.PS, c.PSSE, err = estimate.PredictionStrength(ctx, Z, c.Ks, so); err != nil {
		return nil, err
	}
	so2 := estimate.StabilityOptions{Seed: seed, Threads: threads, Repeats: 10, NInit: 10, Strict: true}
	if c.PS2, c.PS2SE, err = estimate.PredictionStrength(ctx, Z, c.Ks, so2); err != nil {
		return nil, err
	}
	if blocks > 1 {
		ag, err := estimate.MemberAgreement(ctx, Z, blocks, c.Ks[1:], so)
		if err != nil {
			return nil, err
		}
		c.Agree = append([]float64{1}, ag...)
	}
	for _, k := range c.Ks {
		km, err := cluster.KMeans(ctx, Z, cluster.KMeansOptions{K: k, NInit: 10, Threads: threads, Rng: discover.KMeansRng(seed)})
		if err != nil {
			return nil, err
		}
		pred := make([]string, len(km.Labels))
		for j, l := range km.Labels {
			pred[j] = strconv.Itoa(l)
		}
		rep := metrics.Score(truth, pred)
		c.Inertia = append(c.Inertia, km.Inertia/float64(Z.Rows))
		c.ACC, c.NMI, c.ARI = append(c.ACC, rep.ACC), append(c.NMI, rep.NMI), append(c.ARI, rep.ARI)
	}
	c.WClass = withinClass(Z, truth)
	c.Seconds = time.Since(t0).Seconds()
	return c, nil
}

// researchSplit writes the curves of a split's novel and known test rows.
func researchSplit(tb table, s int, dirs []string, cfg pbn.Config, ens int, cacheDir string, w io.Writer) error {
	ctx := context.Background()
	train, test, _, m, err := load(tb, s, dirs, cfg, ens, cacheDir)
	if err != nil {
		return err
	}
	cfg.Seed = uint64(s)
	res := discover.Result{Members: m.Members, Normalized: true}
	latent := res.Embed(test.X)
	rec := curveRecord{Table: tb.name, Validation: tb.validation, Split: s}
	for _, part := range []struct {
		dst **curves
		lab bool
	}{{&rec.Novel, false}, {&rec.Known, true}} {
		var rows []int
		if part.lab {
			rows = test.LabeledRows()
		} else {
			rows = test.UnlabeledRows()
		}
		truth := make([]string, len(rows))
		for j, i := range rows {
			truth[j] = test.Truth[i]
		}
		c, err := research(ctx, latent.Select(rows), truth, ens, cfg.Seed, cfg.Threads)
		if err != nil {
			return err
		}
		*part.dst = c
	}
	lab := train.LabeledRows()
	tt := make([]string, len(lab))
	for j, i := range lab {
		tt[j] = train.Truth[i]
	}
	wt := withinClass(res.Embed(train.X).Select(lab), tt)
	rec.Novel.WTrain, rec.Known.WTrain = wt, wt
	b, _ := json.Marshal(rec)
	_, err = fmt.Fprintln(w, string(b))
	fmt.Fprintf(os.Stderr, "%s split %d: novel k %d (1se %d) known k %d (1se %d)\n", tb.name, s, rec.Novel.KTrue, rec.Novel.K1SE, rec.Known.KTrue, rec.Known.K1SE)
	return err
}

// withinClass is the mean squared distance of a row of Z to its class mean.
func withinClass(Z linalg.Matrix, truth []string) float64 {
	sum := map[string][]float64{}
	cnt := map[string]int{}
	for i, t := range truth {
		if sum[t] == nil {
			sum[t] = make([]float64, Z.Cols)
		}
		for j, v := range Z.Row(i) {
			sum[t][j] += v
		}
		cnt[t]++
	}
	tot := 0.0
	for i, t := range truth {
		for j, v := range Z.Row(i) {
			d := v - sum[t][j]/float64(cnt[t])
			tot += d * d
		}
	}
	return tot / float64(Z.Rows)
}

// tuned is the tuned pipeline of one split: `ncd tune` on the training
// split (trials trials, the CLI's defaults otherwise), then `ncd fit
// --config best.yaml --k auto` on the test split, scored with `ncd eval`
// on the test split's novel rows. It runs the ncd binary bin, as a user
// would.
type tuned struct {
	Table      string  `json:"table"`
	Validation bool    `json:"validation"`
	Split      int     `json:"split"`
	KTrue      int     `json:"k_true"`
	K          int     `json:"k"`
	ACC        float64 `json:"acc"`
	TuneSec    float64 `json:"tune_seconds"`
	BestCVACC  float64 `json:"best_cv_acc"`
	Config     any     `json:"config"`
}

func runTuned(tb table, s int, dirs []string, bin string, trials, threads int, w io.Writer) (*tuned, error) {
	dir, err := os.MkdirTemp("", "ncd-suite-tune-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	trainPath, testPath, novel, err := prepare(tb, s, dirs, dir)
	if err != nil {
		return nil, err
	}
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(bin, args...)
		var errb strings.Builder
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, errb.String())
		}
		return out, nil
	}
	seed := strconv.Itoa(s)
	th := strconv.Itoa(threads)
	best := filepath.Join(dir, "best.yaml")
	t0 := time.Now()
	out, err := run("tune", "--data", trainPath, "--novel", strings.Join(novel, ","), "--trials", strconv.Itoa(trials),
		"--seed", seed, "--threads", th, "--out", best, "--json", "--quiet")
	if err != nil {
		return nil, err
	}
	tuneSec := time.Since(t0).Seconds()
	var tr struct {
		Best struct {
			ACC float64 `json:"acc"`
		} `json:"best"`
		BestConfig any `json:"best_config"`
	}
	_ = json.Unmarshal(out, &tr)
	pred := filepath.Join(dir, "pred.csv")
	out, err = run("fit", "--config", best, "--test", testPath, "--k", "auto", "--seed", seed, "--threads", th, "--out", pred, "--json", "--quiet")
	if err != nil {
		return nil, err
	}
	var fr struct {
		K int `json:"k"`
	}
	if err := json.Unmarshal(out, &fr); err != nil {
		return nil, err
	}
	out, err = run("eval", "--data", pred, "--json", "--quiet")
	if err != nil {
		return nil, err
	}
	var er struct {
		ACC         float64 `json:"acc"`
		TrueClasses int     `json:"true_classes"`
	}
	if err := json.Unmarshal(out, &er); err != nil {
		return nil, err
	}
	r := &tuned{Table: tb.name, Validation: tb.validation, Split: s, KTrue: er.TrueClasses, K: fr.K, ACC: er.ACC,
		TuneSec: tuneSec, BestCVACC: tr.Best.ACC, Config: tr.BestConfig}
	b, _ := json.Marshal(r)
	fmt.Fprintln(w, string(b))
	fmt.Fprintf(os.Stderr, "%-9s split %d tuned: k %d (true %d) ACC %.3f, tune %.0fs (CV ACC %.3f)\n", r.Table, s, r.K, r.KTrue, r.ACC, tuneSec, r.BestCVACC)
	return r, nil
}

// calibRecord is the research record of one split for calibrating the k
// rule on hidden-class folds: the novel rows' curves in the split's latent
// (8 networks), and, per fold of the training split's known classes, the
// curves of the fold's hidden rows in the latent of networks trained
// without them (the fold knows how many classes it hid).
type calibRecord struct {
	Table      string       `json:"table"`
	Validation bool         `json:"validation"`
	Split      int          `json:"split"`
	Known      int          `json:"known"`
	Novel      *curves      `json:"novel"`
	Folds      []calibCurve `json:"folds"`
}

type calibCurve struct {
	Hidden  []string `json:"hidden"`
	Ens     int      `json:"ensemble"`
	Curves  *curves  `json:"curves"`
	TrainSe float64  `json:"train_seconds"`
}

// calibSplit writes a split's calibRecord: folds hide about a third of the
// known classes (at least 2, one kept), foldEns networks per fold.
func calibSplit(tb table, s int, dirs []string, cfg pbn.Config, ens, nFolds, foldEns int, cacheDir string, w io.Writer) error {
	ctx := context.Background()
	train, test, _, m, err := load(tb, s, dirs, cfg, ens, cacheDir)
	if err != nil {
		return err
	}
	cfg.Seed = uint64(s)
	rec := calibRecord{Table: tb.name, Validation: tb.validation, Split: s, Known: len(train.Classes)}
	res := discover.Result{Members: m.Members, Normalized: true}
	// Large tables: a seeded sample of 3000 rows (the product's prediction
	// strength runs on such a sample too); research scores every k at full
	// cost.
	unl := estimate.Subsample(rand.New(rand.NewPCG(cfg.Seed, 0x63616c)), test.UnlabeledRows(), 3000)
	truth := make([]string, len(unl))
	for j, i := range unl {
		truth[j] = test.Truth[i]
	}
	if rec.Novel, err = research(ctx, res.Embed(test.X).Select(unl), truth, ens, cfg.Seed, cfg.Threads); err != nil {
		return err
	}
	C := len(train.Classes)
	if C >= 3 {
		err := eachFold(ctx, tb, s, train, cfg, nFolds, foldEns, cacheDir, func(names []string, rows []int, fm members) error {
			ft := make([]string, len(rows))
			for j, i := range rows {
				ft[j] = train.Truth[i]
			}
			fr := discover.Result{Members: fm.Members, Normalized: true}
			c, err := research(ctx, fr.Embed(train.X.Select(rows)), ft, foldEns, cfg.Seed, cfg.Threads)
			if err != nil {
				return err
			}
			rec.Folds = append(rec.Folds, calibCurve{Hidden: names, Ens: foldEns, Curves: c, TrainSe: fm.Seconds})
			fmt.Fprintf(os.Stderr, "%s split %d fold %d: hid %d (%s), 1se %d, train %.1fs\n", tb.name, s, len(rec.Folds)-1, len(names), strings.Join(names, ","), c.K1SE, fm.Seconds)
			return nil
		})
		if err != nil {
			return err
		}
	}
	b, _ := json.Marshal(rec)
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// foldMembers trains (or takes from the cache) the foldEns networks of
// calibration fold f, trained on fd (the split's training set without the
// fold's hidden classes names).
func foldMembers(ctx context.Context, tb table, s, f int, names []string, fd *dataset.Dataset, cfg pbn.Config, foldEns int, cacheDir string) (members, error) {
	key := fmt.Sprintf("%s-s%d-fold%d-%s-e%d-%d-%.4g-%.4g-%.4g-%d-%d", tb.name, s, f, strings.Join(names, "+"), foldEns, cfg.Epochs, cfg.LR, cfg.W, cfg.Dropout, cfg.LatentDim, cfg.Seed)
	key = strings.NewReplacer("/", "_", " ", "_").Replace(key)
	cachePath := filepath.Join(cacheDir, key+".ncdm")
	var fm members
	if err := model.LoadFile(cachePath, &fm); err != nil || len(fm.Members) != foldEns {
		t0 := time.Now()
		fc := cfg
		fc.Seed = discover.CalibSeed(cfg.Seed, f)
		nets, err := discover.TrainPBN(ctx, fd, discover.PBNOptions{Config: fc, Ensemble: foldEns})
		if err != nil {
			return fm, err
		}
		fm = members{Members: nets, Seconds: time.Since(t0).Seconds()}
		if err := model.SaveFile(cachePath, &fm); err != nil {
			return fm, err
		}
	}
	return fm, nil
}

// probeRecord is the research record of one split for estimating k with
// probe classes (Han et al., ICCV 2019, "DTC"): per hidden-class fold,
// k-means on the fold's hidden training rows (the probe, classes its
// networks never saw) together with the novel rows, in the fold networks'
// latent, for every total k; the probe's ACC at each k peaks where a
// cluster is as coarse as a class is.
type probeRecord struct {
	Table      string       `json:"table"`
	Validation bool         `json:"validation"`
	Split      int          `json:"split"`
	Known      int          `json:"known"`
	KTrue      int          `json:"k_true"`
	Folds      []probeCurve `json:"folds"`
}

type probeCurve struct {
	Hidden     []string  `json:"hidden"`
	ProbeRows  int       `json:"probe_rows"`
	NovelRows  int       `json:"novel_rows"`
	Ks         []int     `json:"ks"`          // total clusters
	ProbeACC   []float64 `json:"probe_acc"`   // ACC of the probe rows (Hungarian over all clusters)
	ProbeNMI   []float64 `json:"probe_nmi"`   //
	ProbeARI   []float64 `json:"probe_ari"`   //
	NovelACC   []float64 `json:"novel_acc"`   // ACC of the novel rows
	NovelMajor []int     `json:"novel_major"` // clusters whose rows are mostly novel
	AllACC     []float64 `json:"all_acc"`     // ACC of all rows (probe and novel classes)
	Inertia    []float64 `json:"inertia"`
	Sil        []float64 `json:"silhouette"` // of the union
	// Cont[k-1][j] counts cluster j's rows at k: per hidden class (in
	// Hidden's order), then the novel rows.
	Cont [][][]int `json:"cont"`
}

// probeSplit writes a split's probeRecord.
func probeSplit(tb table, s int, dirs []string, cfg pbn.Config, ens, nFolds, foldEns int, cacheDir string, w io.Writer) error {
	ctx := context.Background()
	train, test, _, _, err := load(tb, s, dirs, cfg, ens, cacheDir)
	if err != nil {
		return err
	}
	cfg.Seed = uint64(s)
	unl := estimate.Subsample(rand.New(rand.NewPCG(cfg.Seed, 0x63616c)), test.UnlabeledRows(), 3000)
	present := map[string]bool{}
	for _, i := range unl {
		present[test.Truth[i]] = true
	}
	C := len(train.Classes)
	rec := probeRecord{Table: tb.name, Validation: tb.validation, Split: s, Known: C, KTrue: len(present)}
	if C < 3 {
		return nil
	}
	err = eachFold(ctx, tb, s, train, cfg, nFolds, foldEns, cacheDir, func(names []string, rows []int, fm members) error {
		fr := discover.Result{Members: fm.Members, Normalized: true}
		Zp, Zn := fr.Embed(train.X.Select(rows)), fr.Embed(test.X.Select(unl))
		Z := linalg.New(Zp.Rows+Zn.Rows, Zp.Cols)
		copy(Z.Data, Zp.Data)
		copy(Z.Data[len(Zp.Data):], Zn.Data)
		truth := make([]string, 0, Z.Rows)
		for _, i := range rows {
			truth = append(truth, "p:"+train.Truth[i])
		}
		for _, i := range unl {
			truth = append(truth, "n:"+test.Truth[i])
		}
		pc := probeCurve{Hidden: names, ProbeRows: len(rows), NovelRows: len(unl)}
		kmax := min(len(names)+30, Z.Rows-1)
		sc, err := estimate.Scan(ctx, Z, estimate.ScanOptions{KMin: 2, KMax: kmax, Rule: estimate.RuleMax, Seed: cfg.Seed, Threads: cfg.Threads})
		if err != nil {
			return err
		}
		sil := sc.Scores[estimate.IndexSilhouette]
		for k := 1; k <= kmax; k++ {
			km, err := cluster.KMeans(ctx, Z, cluster.KMeansOptions{K: k, NInit: 10, Threads: cfg.Threads, Rng: discover.KMeansRng(cfg.Seed)})
			if err != nil {
				return err
			}
			pred := make([]string, len(km.Labels))
			for j, l := range km.Labels {
				pred[j] = strconv.Itoa(l)
			}
			np := len(rows)
			rp := metrics.Score(truth[:np], pred[:np])
			rn := metrics.Score(truth[np:], pred[np:])
			ra := metrics.Score(truth, pred)
			cnt := make([][2]int, k)
			for j, l := range km.Labels {
				if j < np {
					cnt[l][0]++
				} else {
					cnt[l][1]++
				}
			}
			ci := map[string]int{}
			for j, n := range names {
				ci["p:"+n] = j
			}
			cont := make([][]int, k)
			for j := range cont {
				cont[j] = make([]int, len(names)+1)
			}
			for j, l := range km.Labels {
				if j < np {
					cont[l][ci[truth[j]]]++
				} else {
					cont[l][len(names)]++
				}
			}
			pc.Cont = append(pc.Cont, cont)
			major := 0
			for _, c := range cnt {
				if c[1] > c[0] {
					major++
				}
			}
			pc.Ks = append(pc.Ks, k)
			pc.ProbeACC, pc.ProbeNMI, pc.ProbeARI = append(pc.ProbeACC, rp.ACC), append(pc.ProbeNMI, rp.NMI), append(pc.ProbeARI, rp.ARI)
			pc.NovelACC, pc.AllACC = append(pc.NovelACC, rn.ACC), append(pc.AllACC, ra.ACC)
			pc.NovelMajor = append(pc.NovelMajor, major)
			pc.Inertia = append(pc.Inertia, km.Inertia/float64(Z.Rows))
			sv := 0.0
			if k >= 2 {
				sv = sil[k-2]
			}
			pc.Sil = append(pc.Sil, sv)
		}
		rec.Folds = append(rec.Folds, pc)
		fmt.Fprintf(os.Stderr, "%s split %d fold %d: probe %d classes (%d rows), novel %d rows\n", tb.name, s, len(rec.Folds)-1, len(names), len(rows), len(unl))
		return nil
	})
	if err != nil {
		return err
	}
	b, _ := json.Marshal(rec)
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// eachFold runs fn on every calibration fold of a split's training set
// (folds hiding discover.CalibHidden of its known classes, as the folds
// rule makes them): the hidden class names, a seeded sample of their rows
// (at most discover.CalibSampleRows) and the fold's networks.
func eachFold(ctx context.Context, tb table, s int, train *dataset.Dataset, cfg pbn.Config, nFolds, foldEns int, cacheDir string,
	fn func(names []string, rows []int, fm members) error) error {
	sets, _, err := folds.Make(len(train.Classes), folds.Options{Mode: folds.Random, Folds: nFolds, Hidden: discover.CalibHidden(len(train.Classes)), Seed: cfg.Seed})
	if err != nil {
		return err
	}
	for f, hide := range sets {
		fd, rows, names := folds.Hide(train, hide)
		fm, err := foldMembers(ctx, tb, s, f, names, fd, cfg, foldEns, cacheDir)
		if err != nil {
			return err
		}
		if err := fn(names, estimate.Subsample(rand.New(rand.NewPCG(cfg.Seed, uint64(f))), rows, discover.CalibSampleRows), fm); err != nil {
			return err
		}
	}
	return nil
}
