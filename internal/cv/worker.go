package cv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/par"
)

// A shared study: any number of processes, on any machines, run Work on the
// same Queue (a study in a database) and together run its trials, each
// trial once. A trial's parameters are fixed when it is created, by
// proposeParams from the finished trials below i-Lag, and a trial is only
// created once those are all finished (the Lag rule): so the study (every
// trial's parameters and fold scores) is the same as Tune's for the same
// seed, whatever the number of workers and whatever the order they finish
// in. A trial whose worker is lost is run again with the same parameters.

// Errors of a Queue.
var (
	// ErrWait: no trial may start now (the next one needs the results of
	// trials still running elsewhere).
	ErrWait = errors.New("cv: no trial ready")
	// ErrStudyDone: every trial of the study is finished.
	ErrStudyDone = errors.New("cv: study finished")
	// ErrLeaseLost: the trial was given to another worker (this one sent no
	// heartbeat for the grace period); its result is refused.
	ErrLeaseLost = errors.New("cv: lease lost")
)

// Lease is a claimed trial: the worker holding it runs it, renews it with
// Heartbeat and hands the result to Finish.
type Lease struct {
	Index   int
	Params  Params
	Attempt int    // 1 for the first run, 2 for the first retry...
	Token   string // fencing token: Finish and Heartbeat succeed only with the current one
}

// Planner tells a Queue when a new trial may be created and what it is.
type Planner interface {
	// Needs returns n: trial i may be created only once every trial below
	// n is finished.
	Needs(i int) int
	// Propose returns trial i's parameters; hist holds the finished trials
	// with an index below i (at least those below Needs(i)), by index.
	Propose(i int, hist []Trial) Params
	// Lost is the result recorded for trial i when its workers were lost
	// attempts times (the queue gives up on it).
	Lost(i int, p Params, attempts int) Trial
}

// Queue is a study shared by workers.
type Queue interface {
	// Next claims a trial: the lowest one whose worker was lost, else a new
	// one (created with plan). ErrWait: nothing can start now; ErrStudyDone:
	// all trials are finished.
	Next(ctx context.Context, plan Planner) (*Lease, error)
	// Heartbeat renews the lease (ErrLeaseLost when it was taken over).
	Heartbeat(ctx context.Context, l *Lease) error
	// Finish stores the trial's result (ErrLeaseLost: refused).
	Finish(ctx context.Context, l *Lease, t Trial) error
	// Release gives an unfinished trial back (the worker is stopping).
	Release(ctx context.Context, l *Lease) error
	// History returns the finished trials with an index below n, by index.
	History(ctx context.Context, n int) ([]Trial, error)
}

// Waiter is a Queue that can wait for news (a trial finished elsewhere)
// rather than sleep: Wait returns at the news, or after d at the latest.
type Waiter interface {
	Wait(ctx context.Context, d time.Duration)
}

// WorkOptions configures Work.
type WorkOptions struct {
	// Heartbeat is the interval of lease renewals (default 10 s).
	Heartbeat time.Duration
	// Poll is the wait before asking again when no trial is ready
	// (default 250 ms; 1 s for a Waiter, which wakes up at news).
	Poll time.Duration
	// Log, if set, receives one line per event (claims, results, refusals).
	Log func(string)
	// OnTrial, if set, is called with every trial this worker finished and
	// the queue accepted.
	OnTrial func(Trial)
}

// Runner runs single trials of a search (see Work).
type Runner struct {
	s       *scheduler
	threads int
	// Folds describes the folds.
	Folds []FoldInfo
}

// NewRunner checks opt (as Tune does) and builds the folds.
func NewRunner(ds *dataset.Dataset, opt Options) (*Runner, error) {
	opt, err := normalize(opt)
	if err != nil {
		return nil, err
	}
	threads := par.Threads(opt.Threads)
	folds, infos, err := makeTrialFolds(ds, opt, max(1, threads/len(opt.Folds)))
	if err != nil {
		return nil, err
	}
	return &Runner{s: &scheduler{opt: opt, ds: ds, folds: folds}, threads: threads, Folds: infos}, nil
}

// Options returns the options in force (defaults applied).
func (r *Runner) Options() Options { return r.s.opt }

// Needs implements Planner: a TPE trial from Startup on needs the trials
// below i-Lag (its history); with the median rule every trial does, so that
// the rule never waits.
func (r *Runner) Needs(i int) int {
	o := &r.s.opt
	if (o.Sampler == SamplerTPE && i >= o.Startup) || o.Prune > 0 {
		return max(0, i-o.Lag)
	}
	return 0
}

// Propose implements Planner.
func (r *Runner) Propose(i int, hist []Trial) Params {
	return proposeParams(&r.s.opt, i, below(hist, i-r.s.opt.Lag))
}

// Lost implements Planner: a failed trial whose every fold says why.
func (r *Runner) Lost(i int, p Params, attempts int) Trial {
	t := Trial{Index: i, Params: p}
	for f := range r.s.folds {
		t.Folds = append(t.Folds, FoldScore{Fold: f, Err: fmt.Sprintf("worker lost %d times (no heartbeat for the grace period)", attempts)})
	}
	t.summarize()
	return t
}

// below returns the trials of hist with an index below n.
func below(hist []Trial, n int) []*Trial {
	var out []*Trial
	for i := range hist {
		if hist[i].Index < n {
			out = append(out, &hist[i])
		}
	}
	return out
}

// Run runs trial i with parameters p: its folds in parallel, the median
// rule (when Prune > 0) applied after the first Prune folds with history,
// which returns the finished trials below i-Lag. Only a cancelled context
// (or history's error) is an error: a method failure is in the trial.
func (r *Runner) Run(ctx context.Context, i int, p Params, history func() ([]Trial, error)) (Trial, error) {
	o := &r.s.opt
	nf := len(r.s.folds)
	scores := make([]FoldScore, nf)
	run := func(from, to int) error {
		sem := make(chan struct{}, max(1, min(r.threads, to-from)))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var first error
		for f := from; f < to; f++ {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				sc, err := r.s.runFold(ctx, f, p)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && first == nil {
					first = err
				}
				scores[f] = sc
			}()
		}
		wg.Wait()
		return first
	}
	t := Trial{Index: i, Params: p}
	if o.Prune > 0 {
		if err := run(0, o.Prune); err != nil {
			return t, err
		}
		hist, err := history()
		if err != nil {
			return t, err
		}
		if pruned(below(hist, i-o.Lag), o.Prune, scores) {
			t.Folds, t.Pruned = scores[:o.Prune], true
			t.summarize()
			return t, nil
		}
		if err := run(o.Prune, nf); err != nil {
			return t, err
		}
	} else if err := run(0, nf); err != nil {
		return t, err
	}
	t.Folds = scores
	t.summarize()
	return t, nil
}

// Work runs trials of the shared study q until every trial is finished
// (nil) or ctx is cancelled (then the running trial is released, and
// ctx's error returned). Each trial is leased: a heartbeat renews the lease
// while it runs, and when the lease was lost (this process was paused or cut
// off past the grace period and another worker took the trial over), the
// trial is abandoned and its result refused.
func Work(ctx context.Context, r *Runner, q Queue, wo WorkOptions) error {
	if wo.Heartbeat <= 0 {
		wo.Heartbeat = 10 * time.Second
	}
	waiter, _ := q.(Waiter)
	if wo.Poll <= 0 {
		wo.Poll = 250 * time.Millisecond
		if waiter != nil {
			wo.Poll = time.Second
		}
	}
	logf := func(format string, a ...any) {
		if wo.Log != nil {
			wo.Log(fmt.Sprintf(format, a...))
		}
	}
	waiting := false
	// The queue's cost: time in claims (that got a trial) and results.
	var dbTime time.Duration
	ran := 0
	defer func() {
		if ran > 0 {
			logf("this worker: %d trials, %.1f ms per trial in the database (claim + result)", ran, dbTime.Seconds()*1000/float64(ran))
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		l, err := q.Next(ctx, r)
		switch {
		case errors.Is(err, ErrStudyDone):
			return nil
		case errors.Is(err, ErrWait):
			if !waiting {
				logf("waiting for running trials (the next trial is proposed from their results)")
				waiting = true
			}
			if waiter != nil {
				waiter.Wait(ctx, wo.Poll)
			} else {
				select {
				case <-ctx.Done():
				case <-time.After(wo.Poll):
				}
			}
			continue
		case err != nil:
			return err
		}
		waiting = false
		dbTime += time.Since(t0)
		if l.Attempt > 1 {
			logf("trial %d: attempt %d (its previous worker was lost)", l.Index, l.Attempt)
		} else {
			logf("trial %d: started", l.Index)
		}
		t, lost, err := runLeased(ctx, r, q, l, wo.Heartbeat, logf)
		if lost {
			logf("trial %d: lease lost (no heartbeat within the grace period; another worker runs it): result dropped", l.Index)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = q.Release(rctx, l)
				cancel()
				return ctx.Err()
			}
			return err
		}
		t0 = time.Now()
		err = q.Finish(ctx, l, t)
		dbTime += time.Since(t0)
		if errors.Is(err, ErrLeaseLost) {
			logf("trial %d: result refused: another worker took the trial over (this one sent no heartbeat within the grace period)", l.Index)
			continue
		} else if err != nil {
			return err
		}
		ran++
		logf("trial %d: ACC %.4f +- %.4f", t.Index, t.ACC, t.ACCStd)
		if wo.OnTrial != nil {
			wo.OnTrial(t)
		}
	}
}

// runLeased runs a leased trial with a heartbeat; lost reports that the
// lease was lost while it ran (the trial is then cancelled).
func runLeased(ctx context.Context, r *Runner, q Queue, l *Lease, every time.Duration, logf func(string, ...any)) (Trial, bool, error) {
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lost bool
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tctx.Done():
				return
			case <-tick.C:
				err := q.Heartbeat(tctx, l)
				if errors.Is(err, ErrLeaseLost) {
					mu.Lock()
					lost = true
					mu.Unlock()
					cancel()
					return
				}
				if err != nil && tctx.Err() == nil {
					logf("trial %d: heartbeat failed (%v); retrying", l.Index, err)
				}
			}
		}
	}()
	t, err := r.Run(tctx, l.Index, l.Params, func() ([]Trial, error) { return q.History(tctx, l.Index-r.s.opt.Lag) })
	close(done)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if lost {
		return t, true, nil
	}
	return t, false, err
}
