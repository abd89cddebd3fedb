package cv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/par"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Defaults of Options.
const (
	DefaultTrials  = 30
	DefaultStartup = 8
	DefaultLag     = 3
	// pruneMinRef is how many earlier trials the median rule needs before it
	// stops anything.
	pruneMinRef = 5
)

// Options configures Tune. Zero values select the defaults.
type Options struct {
	// Method is the tuned method (required) and Space its search space.
	Method Method
	Space  Space
	// Folds lists, per fold, the indices of the known classes it hides (see
	// MakeFolds).
	Folds [][]int
	// Trials is the number of configurations to evaluate (default 30).
	Trials int
	// Sampler is SamplerTPE (default) or SamplerRandom.
	Sampler string
	// Startup is the number of random trials before TPE takes over (default 8).
	Startup int
	// Lag makes parallel search deterministic: trial i is proposed from the
	// trials with an index below i-Lag, all finished by then, so up to Lag+1
	// trials run at once whatever Threads is (default 3; negative = 0, i.e.
	// strictly sequential proposals).
	Lag int
	// First, if set, is trial 0's configuration (clamped into Space; a
	// parameter it lacks takes the middle of its range): `ncd tune` passes
	// fit's defaults, so the winner has to beat them on the folds.
	First Params
	// TrueK clusters each fold's hidden rows into as many clusters as it
	// hides classes, instead of estimating k with Scan.
	TrueK bool
	// Scan configures the estimate of k in a fold (its Seed, Threads and
	// Progress are set per fold).
	Scan estimate.ScanOptions
	// Prune > 0 enables the median rule: once a trial's first Prune folds
	// are scored, it stops if their mean ACC is below the median of the same
	// folds in the trials with an index below i-Lag (at least 5 of them).
	// It must be below the number of folds.
	Prune int
	// Seed drives the folds' seeds and the proposals.
	Seed uint64
	// Threads bounds the folds run at once (<= 0: GOMAXPROCS).
	Threads int
	// GCD, if set, makes the folds generalized (see GCDFolds); the method
	// should then be a GCDPBN.
	GCD *GCDFolds
	// Done are trials finished earlier (a resumed study): they are not run
	// again, and they count in the history exactly as if they had just run.
	Done []Trial
	// OnTrial, if set, is called once for every newly finished trial (in
	// finishing order, never concurrently); an error stops the search.
	OnTrial func(Trial) error
	// Progress, if set, is called after every fold (never concurrently).
	Progress func(Status)
}

// Status is the progress of a search.
type Status struct {
	// TrialsDone counts finished trials (resumed ones included) of Trials.
	TrialsDone, Trials int
	// FoldsDone counts folds run in this call; FoldsLeft estimates the folds
	// still to run.
	FoldsDone, FoldsLeft int
	// Best is the best complete trial so far (nil: none yet).
	Best *Trial
}

// FoldInfo describes a fold in the result.
type FoldInfo struct {
	Hidden []string `json:"hidden"`
	Rows   int      `json:"rows"`
}

// Result is the outcome of a search.
type Result struct {
	// Trials holds every finished trial, resumed ones included, by index.
	Trials []Trial
	// Best is the position in Trials of the best complete trial (-1: none).
	Best int
	// Folds describes the folds.
	Folds []FoldInfo
}

// Ranked returns the trials best first (see Better).
func (r *Result) Ranked() []Trial {
	out := slices.Clone(r.Trials)
	sort.SliceStable(out, func(i, j int) bool { return Better(&out[i], &out[j]) })
	return out
}

// trialState is the scheduler's view of one trial.
type trialState struct {
	proposed, finished, decided bool
	params                      Params
	folds                       []FoldScore
	state                       []int8 // per fold: 0 waiting, 1 running, 2 done
	trial                       Trial  // once finished
}

// Tune runs the search on ds: every trial trains and scores the method on
// every fold. It returns the finished trials even when ctx is cancelled or
// OnTrial fails (with the error), so that a caller can report them.
func Tune(ctx context.Context, ds *dataset.Dataset, opt Options) (*Result, error) {
	opt, err := normalize(opt)
	if err != nil {
		return nil, err
	}
	nf := len(opt.Folds)
	threads := par.Threads(opt.Threads)
	res := &Result{Best: -1}
	folds, infos, err := makeTrialFolds(ds, opt, max(1, threads/((opt.Lag+1)*nf)))
	if err != nil {
		return nil, err
	}
	res.Folds = infos

	s := &scheduler{opt: opt, ds: ds, folds: folds, states: map[int]*trialState{}, total: opt.Trials}
	s.cond = sync.NewCond(&s.mu)
	for _, t := range opt.Done {
		if _, dup := s.states[t.Index]; dup || t.Index < 0 {
			continue
		}
		tc := t
		s.states[t.Index] = &trialState{proposed: true, finished: true, decided: true, params: t.Params, trial: tc}
		s.done++
	}
	for i := 0; i < opt.Trials; i++ {
		if _, ok := s.states[i]; !ok {
			s.states[i] = &trialState{folds: make([]FoldScore, nf), state: make([]int8, nf)}
			s.foldsLeft += nf
		}
	}
	s.advance()

	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx)
		}()
	}
	wg.Wait()

	for _, st := range s.states {
		if st.finished {
			res.Trials = append(res.Trials, st.trial)
		}
	}
	sort.Slice(res.Trials, func(i, j int) bool { return res.Trials[i].Index < res.Trials[j].Index })
	for i := range res.Trials {
		if res.Trials[i].Complete() && (res.Best < 0 || Better(&res.Trials[i], &res.Trials[res.Best])) {
			res.Best = i
		}
	}
	return res, s.err
}

// normalize applies Options' defaults and checks them.
func normalize(opt Options) (Options, error) {
	if opt.Method == nil {
		return opt, errors.New("cv: no method")
	}
	if err := opt.Space.Validate(); err != nil {
		return opt, err
	}
	if opt.Trials == 0 {
		opt.Trials = DefaultTrials
	}
	if opt.Startup == 0 {
		opt.Startup = DefaultStartup
	}
	if opt.Lag == 0 {
		opt.Lag = DefaultLag
	}
	opt.Lag = max(opt.Lag, 0)
	switch opt.Sampler {
	case "":
		opt.Sampler = SamplerTPE
	case SamplerTPE, SamplerRandom:
	default:
		return opt, usererr.New("sampler must be tpe or random, got %q", opt.Sampler)
	}
	nf := len(opt.Folds)
	if nf == 0 {
		return opt, usererr.New("no folds")
	}
	if opt.Prune < 0 || (opt.Prune > 0 && opt.Prune >= nf) {
		return opt, usererr.New("the median rule must apply after fewer folds than the %d folds, got %d", nf, opt.Prune)
	}
	if opt.Trials < 0 {
		return opt, usererr.New("the number of trials must be positive, got %d", opt.Trials)
	}
	return opt, nil
}

// makeTrialFolds builds the folds (their seeds drawn in order from
// opt.Seed), each method call using inner threads.
func makeTrialFolds(ds *dataset.Dataset, opt Options, inner int) ([]*Fold, []FoldInfo, error) {
	seedRng := rand.New(rand.NewPCG(opt.Seed, 0x666f6c642d736565)) // "fold-see"
	folds := make([]*Fold, len(opt.Folds))
	var infos []FoldInfo
	for f, hide := range opt.Folds {
		for _, c := range hide {
			if c < 0 || c >= len(ds.Classes) {
				return nil, nil, fmt.Errorf("cv: fold %d hides class %d of %d", f, c, len(ds.Classes))
			}
		}
		fd, rows, names := hideClasses(ds, hide)
		if opt.GCD != nil {
			rows = opt.GCD.unlabel(fd, rows, opt.Seed, f)
		}
		if len(rows) < 3 {
			return nil, nil, errNoRows(f, names, len(rows))
		}
		folds[f] = &Fold{Index: f, Data: fd, Hidden: rows, HiddenClasses: names, Seed: seedRng.Uint64(),
			Threads: inner, scan: opt.Scan}
		if opt.TrueK {
			folds[f].k, folds[f].trueK = len(hide), true
		}
		infos = append(infos, FoldInfo{Hidden: names, Rows: len(rows)})
	}
	return folds, infos, nil
}

type scheduler struct {
	opt    Options
	ds     *dataset.Dataset
	folds  []*Fold
	mu     sync.Mutex
	cond   *sync.Cond
	states map[int]*trialState
	// firstOpen is the lowest trial index not finished: every trial below
	// it is finished.
	firstOpen int
	total     int
	done      int
	foldsDone int
	foldsLeft int
	err       error
	best      *Trial
}

// advance moves firstOpen past finished trials.
func (s *scheduler) advance() {
	for {
		st, ok := s.states[s.firstOpen]
		if !ok || !st.finished {
			return
		}
		s.firstOpen++
	}
}

// historyBefore returns the finished trials with an index below n.
func (s *scheduler) historyBefore(n int) []*Trial {
	var h []*Trial
	for i := 0; i < n; i++ {
		if st, ok := s.states[i]; ok && st.finished {
			h = append(h, &st.trial)
		}
	}
	// Resumed trials beyond Trials never matter: n <= Trials.
	return h
}

// ready reports whether every trial below n is finished (or absent).
func (s *scheduler) ready(n int) bool { return s.firstOpen >= n || s.allFinishedBelow(n) }

func (s *scheduler) allFinishedBelow(n int) bool {
	for i := s.firstOpen; i < n; i++ {
		if st, ok := s.states[i]; ok && !st.finished {
			return false
		}
	}
	return true
}

func (s *scheduler) propose(i int, st *trialState) {
	st.params = proposeParams(&s.opt, i, s.historyBefore(i-s.opt.Lag))
	st.proposed = true
}

// proposeParams is trial i's configuration: it depends only on the seed, i
// and hist, the finished trials with an index below i-Lag (used from trial
// Startup on by TPE).
func proposeParams(opt *Options, i int, hist []*Trial) Params {
	rng := rand.New(rand.NewPCG(opt.Seed^0x70726f706f736531, uint64(i))) // "propose1"
	switch {
	case i == 0 && opt.First != nil:
		return opt.Space.Clamp(opt.First)
	case opt.Sampler == SamplerRandom || i < opt.Startup:
		return opt.Space.sampleRandom(rng)
	default:
		return opt.Space.sampleTPE(rng, hist)
	}
}

// next returns the next fold to run, proposing trials and applying the
// median rule on the way; ok is false when nothing can start now.
func (s *scheduler) next() (i, f int, ok bool) {
	for i = s.firstOpen; i < s.total; i++ {
		st := s.states[i]
		if st.finished {
			continue
		}
		if !st.proposed {
			if s.opt.Sampler == SamplerTPE && i >= s.opt.Startup && !s.ready(i-s.opt.Lag) {
				return 0, 0, false // later trials need even more history
			}
			s.propose(i, st)
		}
		if s.opt.Prune > 0 && !st.decided {
			s.decide(i, st)
			if st.finished {
				continue
			}
		}
		for f = range st.state {
			if st.state[f] == 0 && (s.opt.Prune == 0 || f < s.opt.Prune || st.decided) {
				return i, f, true
			}
		}
	}
	return 0, 0, false
}

// decide applies the median rule to trial i once its first Prune folds are
// scored and the trials below i-Lag are finished.
func (s *scheduler) decide(i int, st *trialState) {
	p := s.opt.Prune
	for f := 0; f < p; f++ {
		if st.state[f] != 2 {
			return
		}
	}
	if !s.ready(i - s.opt.Lag) {
		return
	}
	st.decided = true
	if pruned(s.historyBefore(i-s.opt.Lag), p, st.folds) {
		st.folds = st.folds[:p]
		s.foldsLeft -= len(st.state) - p
		s.finish(i, st, true)
	}
}

// pruned applies the median rule to a trial whose first p folds are scored:
// true when their mean ACC is below the median of the same folds in hist
// (the finished trials below i-Lag; failed ones left out), given at least
// pruneMinRef of them.
func pruned(hist []*Trial, p int, folds []FoldScore) bool {
	var ref []float64
	for _, t := range hist {
		if t.Failed || len(t.Folds) < p {
			continue
		}
		ref = append(ref, partialMean(t.Folds[:p]))
	}
	if len(ref) < pruneMinRef {
		return false
	}
	sort.Float64s(ref)
	med := ref[len(ref)/2]
	if len(ref)%2 == 0 {
		med = (ref[len(ref)/2-1] + med) / 2
	}
	return partialMean(folds[:p]) < med
}

func partialMean(fs []FoldScore) float64 {
	m := 0.0
	for _, f := range fs {
		m += f.ACC
	}
	return m / float64(len(fs))
}

// finish records a trial whose folds are all scored (or that was pruned).
func (s *scheduler) finish(i int, st *trialState, pruned bool) {
	t := Trial{Index: i, Params: st.params, Folds: st.folds, Pruned: pruned}
	t.summarize()
	st.trial, st.finished = t, true
	s.done++
	s.advance()
	if t.Complete() && (s.best == nil || Better(&t, s.best)) {
		tc := t
		s.best = &tc
	}
	// A trial that finished while the run was being cancelled is still
	// reported: it is in the result, so it must reach the study file too.
	if s.opt.OnTrial != nil && (s.err == nil || errors.Is(s.err, context.Canceled) || errors.Is(s.err, context.DeadlineExceeded)) {
		if err := s.opt.OnTrial(t); err != nil {
			s.err = err
		}
	}
}

func (s *scheduler) work(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.err != nil || s.allProposedFinished() {
			s.cond.Broadcast()
			return
		}
		if err := ctx.Err(); err != nil {
			s.err = err
			s.cond.Broadcast()
			return
		}
		i, f, ok := s.next()
		if !ok {
			if s.allProposedFinished() {
				s.cond.Broadcast()
				return
			}
			s.cond.Wait()
			continue
		}
		st := s.states[i]
		st.state[f] = 1
		params := st.params
		s.mu.Unlock()
		score, err := s.runFold(ctx, f, params)
		s.mu.Lock()
		if err != nil { // cancelled
			if s.err == nil {
				s.err = err
			}
			s.cond.Broadcast()
			return
		}
		st.folds[f] = score
		st.state[f] = 2
		s.foldsDone++
		s.foldsLeft--
		if s.allFoldsDone(st) {
			s.finish(i, st, false)
		} else if s.opt.Prune > 0 && !st.decided {
			s.decide(i, st)
		}
		if s.opt.Progress != nil {
			s.opt.Progress(Status{TrialsDone: s.done, Trials: s.total, FoldsDone: s.foldsDone, FoldsLeft: s.foldsLeft, Best: s.best})
		}
		s.cond.Broadcast()
	}
}

func (s *scheduler) allFoldsDone(st *trialState) bool {
	for _, v := range st.state {
		if v != 2 {
			return false
		}
	}
	return true
}

// allProposedFinished reports whether every trial to run is finished.
func (s *scheduler) allProposedFinished() bool {
	for i := s.firstOpen; i < s.total; i++ {
		if !s.states[i].finished {
			return false
		}
	}
	return true
}

// runFold trains and scores one fold. Only a cancelled context is an error:
// a method failure is recorded in the score.
func (s *scheduler) runFold(ctx context.Context, f int, p Params) (FoldScore, error) {
	fold := s.folds[f]
	t0 := time.Now()
	pred, err := s.opt.Method.Cluster(ctx, fold, p)
	sc := FoldScore{Fold: f}
	if err != nil {
		if ctx.Err() != nil {
			return sc, ctx.Err()
		}
		sc.Err = err.Error()
		sc.Seconds = time.Since(t0).Seconds()
		return sc, nil
	}
	if len(pred) != len(fold.Hidden) {
		return sc, fmt.Errorf("cv: %s returned %d labels for %d hidden rows", s.opt.Method.Name(), len(pred), len(fold.Hidden))
	}
	r := scoreFold(s.ds, fold.Hidden, pred)
	sc.K = slices.Max(pred) + 1
	if g, ok := s.opt.Method.(interface{ KNew([]int) int }); ok {
		sc.K = g.KNew(pred) // k_new (0 allowed) under gcd
	}
	sc.ACC, sc.NMI, sc.ARI = finite(r.ACC), finite(r.NMI), finite(r.ARI)
	sc.Seconds = time.Since(t0).Seconds()
	return sc, nil
}

// finite maps NaN (an undefined score) to 0, which JSON can encode.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
