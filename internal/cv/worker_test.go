package cv

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
)

// memQueue is an in-memory Queue with the claim rules of the database one
// (lowest waiting trial first, creation under one lock, Needs respected),
// for testing Work without a server.
type memQueue struct {
	mu     sync.Mutex
	total  int
	trials map[int]*memTrial
	tokens int
}

type memTrial struct {
	params   Params
	running  bool
	waiting  bool
	finished *Trial
	token    string
	attempt  int
}

func (q *memQueue) Next(_ context.Context, plan Planner) (*Lease, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tokens++
	tok := fmt.Sprint(q.tokens)
	for i := 0; i < len(q.trials); i++ {
		if t := q.trials[i]; t.waiting {
			t.waiting, t.running, t.token = false, true, tok
			t.attempt++
			return &Lease{Index: i, Params: t.params, Attempt: t.attempt, Token: tok}, nil
		}
	}
	n := len(q.trials)
	if n >= q.total {
		for _, t := range q.trials {
			if t.finished == nil {
				return nil, ErrWait
			}
		}
		return nil, ErrStudyDone
	}
	for j := 0; j < plan.Needs(n); j++ {
		if q.trials[j].finished == nil {
			return nil, ErrWait
		}
	}
	var hist []Trial
	for j := 0; j < n; j++ {
		if f := q.trials[j].finished; f != nil {
			hist = append(hist, *f)
		}
	}
	p := plan.Propose(n, hist)
	q.trials[n] = &memTrial{params: p, running: true, token: tok, attempt: 1}
	return &Lease{Index: n, Params: p, Attempt: 1, Token: tok}, nil
}

func (q *memQueue) Heartbeat(_ context.Context, l *Lease) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := q.trials[l.Index]; !t.running || t.token != l.Token {
		return ErrLeaseLost
	}
	return nil
}

func (q *memQueue) Finish(_ context.Context, l *Lease, tr Trial) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.trials[l.Index]
	if !t.running || t.token != l.Token {
		return ErrLeaseLost
	}
	t.running, t.finished = false, &tr
	return nil
}

func (q *memQueue) Release(_ context.Context, l *Lease) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := q.trials[l.Index]; t.running && t.token == l.Token {
		t.running, t.waiting = false, true
	}
	return nil
}

func (q *memQueue) History(_ context.Context, n int) ([]Trial, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Trial
	for j := 0; j < n; j++ {
		if t := q.trials[j]; t != nil && t.finished != nil {
			out = append(out, *t.finished)
		}
	}
	return out, nil
}

// steal gives trial i's lease to nobody (as if its worker was lost and the
// trial was taken over): the holder's heartbeat and result are refused.
func (q *memQueue) steal(i int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.trials[i]
	t.running, t.waiting, t.token = false, true, "stolen"
}

func (q *memQueue) results() []Trial {
	var out []Trial
	for _, t := range q.trials {
		out = append(out, *t.finished)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// Several workers on one queue end with exactly Tune's trials (same
// parameters, same fold scores), with and without the median rule: the Lag
// rule makes the study independent of the number of workers.
func TestWorkersMatchTune(t *testing.T) {
	ds := toy(8, 20, 30)
	for _, prune := range []int{0, 2} {
		opt := fakeOptions(ds, 2)
		opt.Prune = prune
		ref, err := Tune(context.Background(), ds, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{1, 4} {
			q := &memQueue{total: opt.Trials, trials: map[int]*memTrial{}}
			var wg sync.WaitGroup
			errs := make([]error, workers)
			for w := 0; w < workers; w++ {
				r, err := NewRunner(ds, opt)
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[w] = Work(context.Background(), r, q, WorkOptions{Poll: 1e6})
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			got := q.results()
			if !reflect.DeepEqual(stripTimes(got), stripTimes(ref.Trials)) {
				t.Fatalf("prune %d, %d workers: trials differ from Tune's", prune, workers)
			}
			npruned := 0
			for _, tr := range got {
				if tr.Pruned {
					npruned++
				}
			}
			if prune > 0 && npruned == 0 {
				t.Errorf("prune %d: no trial pruned, the test does not exercise the median rule", prune)
			}
		}
	}
}

// A worker whose lease is taken over while it runs drops its result, and
// the trial is run again with the same parameters.
func TestWorkLeaseLost(t *testing.T) {
	ds := toy(8, 20, 30)
	opt := fakeOptions(ds, 1)
	opt.Trials = 3
	ref, err := Tune(context.Background(), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	q := &memQueue{total: opt.Trials, trials: map[int]*memTrial{}}
	r, err := NewRunner(ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	stolen := &stealingQueue{memQueue: q, at: 1}
	var logs []string
	if err := Work(context.Background(), r, stolen, WorkOptions{Poll: 1e6, Log: func(s string) { logs = append(logs, s) }}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stripTimes(q.results()), stripTimes(ref.Trials)) {
		t.Fatal("trials differ from Tune's")
	}
	if q.trials[1].attempt != 2 {
		t.Errorf("trial 1 ran %d times, want 2", q.trials[1].attempt)
	}
	found := false
	for _, l := range logs {
		if l == "trial 1: result refused: another worker took the trial over (this one sent no heartbeat within the grace period)" {
			found = true
		}
	}
	if !found {
		t.Errorf("no refusal logged: %q", logs)
	}
}

// stealingQueue takes trial `at` over just before its first result arrives.
type stealingQueue struct {
	*memQueue
	at   int
	done bool
}

func (s *stealingQueue) Finish(ctx context.Context, l *Lease, tr Trial) error {
	if l.Index == s.at && !s.done {
		s.done = true
		s.steal(l.Index)
	}
	return s.memQueue.Finish(ctx, l, tr)
}
