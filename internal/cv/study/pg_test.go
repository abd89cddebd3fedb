package study

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ncd-project/ncd/internal/cv"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/pgtest"
	"github.com/ncd-project/ncd/internal/usererr"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// fakeMethod is a fast deterministic objective: each hidden row gets its
// true class with a probability that peaks at lr 1e-3, w 0.3, else a random
// class (drawn from the fold's seed and the parameters). delay slows every
// fold; hang, if set, blocks a fold until it is closed or ctx ends.
type fakeMethod struct {
	delay time.Duration
	hang  chan struct{}
}

func (m *fakeMethod) Name() string { return "fake" }

func (m *fakeMethod) Cluster(ctx context.Context, f *cv.Fold, p cv.Params) ([]int, error) {
	if m.hang != nil {
		select {
		case <-m.hang:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if m.delay > 0 {
		select {
		case <-time.After(m.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var h uint64 = 1469598103934665603
	for _, k := range []string{cv.ParamLR, cv.ParamW, cv.ParamLatentDim} {
		h = (h ^ math.Float64bits(p[k])) * 1099511628211
	}
	rng := rand.New(rand.NewPCG(f.Seed, h))
	dl, dw := math.Log10(p[cv.ParamLR])+3, p[cv.ParamW]-0.3
	q := math.Exp(-(dl*dl + 4*dw*dw))
	out := make([]int, len(f.Hidden))
	for j, i := range f.Hidden {
		c := slices.Index(f.HiddenClasses, f.Data.Truth[i])
		if rng.Float64() >= q {
			c = rng.IntN(len(f.HiddenClasses))
		}
		out[j] = c
	}
	return out, nil
}

func toyData() *dataset.Dataset {
	rng := rand.New(rand.NewPCG(3, 4))
	ds := &dataset.Dataset{}
	var rows [][]float64
	for c := 0; c < 8; c++ {
		ds.Classes = append(ds.Classes, string(rune('a'+c)))
		for i := 0; i < 20; i++ {
			rows = append(rows, []float64{10*float64(c) + rng.NormFloat64(), rng.NormFloat64()})
			ds.Known = append(ds.Known, c)
			ds.Truth = append(ds.Truth, ds.Classes[c])
		}
	}
	ds.X = linalg.FromRows(rows)
	return ds
}

func toyOptions(ds *dataset.Dataset, m cv.Method, trials int) cv.Options {
	folds, _, err := cv.MakeFolds(len(ds.Classes), cv.FoldOptions{Folds: 4, Seed: 5})
	if err != nil {
		panic(err)
	}
	space := cv.Space{
		{Name: cv.ParamLR, Low: 1e-5, High: 1e-1, Log: true},
		{Name: cv.ParamW, Low: 0, High: 1},
		{Name: cv.ParamLatentDim, Low: 4, High: 32, Log: true, Int: true},
	}
	return cv.Options{Method: m, Space: space, Folds: folds, Trials: trials, Startup: 4, TrueK: true, Seed: 11, Threads: 2}
}

func stripTimes(ts []cv.Trial) []cv.Trial {
	out := make([]cv.Trial, len(ts))
	for i, t := range ts {
		t.Seconds = 0
		t.Folds = slices.Clone(t.Folds)
		for j := range t.Folds {
			t.Folds[j].Seconds = 0
		}
		out[i] = t
	}
	return out
}

var testHeader = Header{Fingerprint: "fp1", Settings: map[string]string{"method": "fake"}, NCDVersion: "test"}

func openPG(t testing.TB, dsn string, opt PGOptions) *PG {
	t.Helper()
	p, err := OpenPG(context.Background(), dsn, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// worker runs cv.Work on its own connection pool, as one process would.
func worker(t testing.TB, dsn, name string, ds *dataset.Dataset, opt cv.Options, q func(*PG) cv.Queue, ctx context.Context, logs *[]string, mu *sync.Mutex) error {
	log := func(s string) {
		if logs != nil {
			mu.Lock()
			*logs = append(*logs, name+": "+s)
			mu.Unlock()
		}
	}
	p := openPG(t, dsn, PGOptions{Worker: name, Grace: time.Second, RetryFor: 30 * time.Second, Log: log})
	if _, _, err := p.Join(ctx, "s", testHeader, nil, opt.Trials); err != nil {
		return err
	}
	r, err := cv.NewRunner(ds, opt)
	if err != nil {
		return err
	}
	var queue cv.Queue = p
	if q != nil {
		queue = q(p)
	}
	return cv.Work(ctx, r, queue, cv.WorkOptions{Heartbeat: 200 * time.Millisecond, Poll: 50 * time.Millisecond, Log: log})
}

// checkStudy asserts that the study holds trials 0..n-1 once each, all
// finished, equal to ref (parameters and fold scores).
func checkStudy(t *testing.T, p *PG, ref []cv.Trial) *Snapshot {
	t.Helper()
	if err := p.Use(context.Background(), "s"); err != nil {
		t.Fatal(err)
	}
	snap, err := p.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Rows) != len(ref) {
		t.Fatalf("%d trials in the database, want %d", len(snap.Rows), len(ref))
	}
	for i, r := range snap.Rows {
		if r.Number != i || r.Trial == nil || r.Trial.Index != i {
			t.Fatalf("row %d: trial %d, state %s", i, r.Number, r.State)
		}
	}
	if got := stripTimes(snap.Finished()); !reflect.DeepEqual(got, stripTimes(ref)) {
		for i := range got {
			if !reflect.DeepEqual(got[i], stripTimes(ref)[i]) {
				t.Fatalf("trial %d differs from the 1-process Tune:\n got %+v\nwant %+v", i, got[i], stripTimes(ref)[i])
			}
		}
	}
	return snap
}

func TestPGSchemaCreatedOnceNewerRefused(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	// 8 processes starting at once on an empty database.
	wait := goAll(8, func(i int) error {
		p, err := OpenPG(context.Background(), dsn, PGOptions{})
		if err == nil {
			p.Close()
		}
		return err
	})
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, v int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM ncd_schema`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != 1 || v != SchemaVersion {
		t.Fatalf("ncd_schema has %d rows, version %d; want 1 row, version %d", n, v, SchemaVersion)
	}
	if _, err := conn.Exec(ctx, `UPDATE ncd_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	_, err = OpenPG(ctx, dsn, PGOptions{})
	if !usererr.Is(err) || !strings.Contains(err.Error(), "schema version 99, from a newer ncd; this ncd knows version 1") {
		t.Fatalf("newer schema: got %v", err)
	}
}

func TestPGConnectErrors(t *testing.T) {
	srv := pgtest.Shared(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pwuser') THEN CREATE ROLE pwuser LOGIN PASSWORD 'right'; END IF; END$$; GRANT CREATE ON SCHEMA public TO pwuser`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	refused := fmt.Sprintf("postgres://ncd@127.0.0.1:%d/postgres", freePort(t))
	for _, c := range []struct{ dsn, want string }{
		{"postgres://ncd@127.0.0.1:notaport/x", "not a valid PostgreSQL URL"},
		{refused, "connection refused"},
		{fmt.Sprintf("postgres://pwuser:wrong-secret@127.0.0.1:%d/postgres?sslmode=disable", srv.Port), "authentication failed"},
		{fmt.Sprintf("postgres://ncd@127.0.0.1:%d/nosuchdb?sslmode=disable", srv.Port), `database "nosuchdb" does not exist`},
		// A host that drops packets: the connect timeout answers.
		{"postgres://ncd@10.255.255.1:5432/postgres?connect_timeout=2", "cannot connect"},
	} {
		t0 := time.Now()
		_, err := OpenPG(ctx, c.dsn, PGOptions{})
		took := time.Since(t0)
		if !usererr.Is(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a user error with %q", c.dsn, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("%s: the message shows the password: %v", c.dsn, err)
		}
		if took > 10*time.Second {
			t.Errorf("%s: failed after %s, want < 10 s", c.dsn, took)
		}
	}
	// The right password works.
	p := openPG(t, fmt.Sprintf("postgres://pwuser:right@127.0.0.1:%d/postgres?sslmode=disable", srv.Port), PGOptions{})
	p.Close()
}

// freePort returns a port nothing listens on (the kernel's choice, closed).
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Four workers in one study end with exactly the trials of a 1-process
// Tune, each trial run once; a second study name is independent, and a
// study made with other settings is refused.
func TestPGWorkersMatchTune(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	ds := toyData()
	opt := toyOptions(ds, &fakeMethod{delay: 2 * time.Millisecond}, 16)
	ref, err := cv.Tune(context.Background(), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	wait := goAll(4, func(w int) error {
		return worker(t, dsn, fmt.Sprintf("w%d", w), ds, opt, nil, context.Background(), nil, nil)
	})
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	p := openPG(t, dsn, PGOptions{})
	snap := checkStudy(t, p, ref.Trials)
	workers := map[string]bool{}
	for _, r := range snap.Rows {
		if r.Attempt != 1 || r.Refused != 0 {
			t.Errorf("trial %d: attempt %d, refused %d", r.Number, r.Attempt, r.Refused)
		}
		workers[r.Worker] = true
	}
	if len(workers) < 2 {
		t.Errorf("only workers %v ran trials", workers)
	}
	if snap.Total != 16 {
		t.Errorf("total %d", snap.Total)
	}
	// Joining with other settings is refused; a larger --trials raises the total.
	other := testHeader
	other.Fingerprint, other.Settings = "fp2", map[string]string{"method": "other"}
	if _, _, err := p.Join(context.Background(), "s", other, nil, 16); !usererr.Is(err) || !strings.Contains(err.Error(), "method: fake -> other") {
		t.Errorf("mismatch: %v", err)
	}
	if created, n, err := p.Join(context.Background(), "s", testHeader, nil, 20); err != nil || created || n != 20 {
		t.Errorf("raise: created %v, n %d, err %v", created, n, err)
	}
	if _, n, err := p.Join(context.Background(), "s", testHeader, nil, 5); err != nil || n != 20 {
		t.Errorf("smaller: n %d, err %v", n, err)
	}
}

// silentQueue is a worker that stops answering: no heartbeat, no release
// (a process killed with kill -9, or paused with kill -STOP).
type silentQueue struct{ *PG }

func (s silentQueue) Heartbeat(context.Context, *cv.Lease) error { return nil }
func (s silentQueue) Release(context.Context, *cv.Lease) error   { return nil }

// A worker that dies while holding a trial (no heartbeat) loses it after
// the grace period: another worker runs it again with the same parameters,
// and the study equals a 1-process Tune. When the dead worker's result
// arrives after all (kill -STOP, then -CONT), it is refused.
func TestPGLostWorkerRetriedLateResultRefused(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	ds := toyData()
	good := &fakeMethod{delay: 2 * time.Millisecond}
	opt := toyOptions(ds, good, 10)
	ref, err := cv.Tune(context.Background(), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The paused worker: claims trial 0 first, hangs, sends no heartbeat.
	hang := make(chan struct{})
	pausedOpt := opt
	pausedOpt.Method = &fakeMethod{hang: hang}
	var mu sync.Mutex
	var logs []string
	pausedDone := make(chan error, 1)
	go func() {
		pausedDone <- worker(t, dsn, "paused", ds, pausedOpt, func(p *PG) cv.Queue { return silentQueue{p} }, context.Background(), &logs, &mu)
	}()
	p := openPG(t, dsn, PGOptions{})
	waitFor(t, func() bool {
		_ = p.Use(context.Background(), "s")
		s, err := p.Snapshot(context.Background())
		return err == nil && len(s.Rows) > 0 && s.Rows[0].Worker == "paused"
	})
	// Two live workers do the study, trial 0 once its grace (1 s) is over.
	wait := goAll(2, func(w int) error {
		return worker(t, dsn, fmt.Sprintf("live%d", w), ds, opt, nil, context.Background(), &logs, &mu)
	})
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	snap := checkStudy(t, p, ref.Trials)
	if r := snap.Rows[0]; r.Attempt != 2 || r.Worker == "paused" || r.Refused != 0 {
		t.Fatalf("trial 0: attempt %d by %s, refused %d; want attempt 2 by a live worker", r.Attempt, r.Worker, r.Refused)
	}
	// The paused worker continues: its result for trial 0 is refused and
	// it stops (the study is finished).
	close(hang)
	select {
	case err := <-pausedDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the paused worker did not stop")
	}
	snap = checkStudy(t, p, ref.Trials)
	if snap.Rows[0].Refused != 1 {
		t.Errorf("trial 0: %d refused results, want 1", snap.Rows[0].Refused)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(logs, "paused: trial 0: result refused: another worker took the trial over (this one sent no heartbeat within the grace period)") ||
		!slices.ContainsFunc(logs, func(s string) bool { return strings.HasSuffix(s, "trial 0: attempt 2 (its previous worker was lost)") }) {
		t.Errorf("logs: %q", logs)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}

// A server restart in the middle of a study: the workers reconnect and the
// study completes, equal to a 1-process Tune.
func TestPGServerRestart(t *testing.T) {
	srv := pgtest.Start(t)
	ds := toyData()
	opt := toyOptions(ds, &fakeMethod{delay: 40 * time.Millisecond}, 12)
	ref, err := cv.Tune(context.Background(), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs []string
	wait := goAll(2, func(w int) error {
		return worker(t, srv.DSN, fmt.Sprintf("w%d", w), ds, opt, nil, context.Background(), &logs, &mu)
	})
	p := openPG(t, srv.DSN, PGOptions{RetryFor: 30 * time.Second})
	waitFor(t, func() bool {
		if p.Use(context.Background(), "s") != nil {
			return false
		}
		s, err := p.Snapshot(context.Background())
		return err == nil && len(s.Finished()) >= 3
	})
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	checkStudy(t, p, ref.Trials)
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(logs, func(s string) bool { return strings.Contains(s, "database connection lost") }) {
		t.Errorf("no reconnection logged: %q", logs)
	}
}

// A trial whose workers are lost max_attempts times is given up: failed,
// every fold saying why, and the study goes on.
func TestPGGivesUpAfterMaxAttempts(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	ds := toyData()
	opt := toyOptions(ds, &fakeMethod{}, 3)
	p := openPG(t, dsn, PGOptions{})
	if _, _, err := p.Join(context.Background(), "s", testHeader, nil, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := p.pool.Exec(context.Background(), `UPDATE ncd_study SET max_attempts = 1`); err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	defer close(hang)
	lostOpt := opt
	lostOpt.Method = &fakeMethod{hang: hang}
	ctx, cancel := context.WithCancel(context.Background())
	lostDone := make(chan error, 1)
	go func() {
		lostDone <- worker(t, dsn, "lost", ds, lostOpt, func(p *PG) cv.Queue { return silentQueue{p} }, ctx, nil, nil)
	}()
	waitFor(t, func() bool {
		s, err := p.Snapshot(context.Background())
		return err == nil && len(s.Rows) > 0 && s.Rows[0].Worker == "lost"
	})
	var mu sync.Mutex
	var logs []string
	if err := worker(t, dsn, "live", ds, opt, nil, context.Background(), &logs, &mu); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-lostDone
	snap, err := p.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Rows) != 3 {
		t.Fatalf("%d trials", len(snap.Rows))
	}
	r := snap.Rows[0]
	if r.State != StateFailed || r.Trial == nil || !r.Trial.Failed || len(r.Trial.Folds) != 4 ||
		r.Trial.Folds[0].Err != "worker lost 1 times (no heartbeat for the grace period)" {
		t.Fatalf("trial 0: %s %+v", r.State, r.Trial)
	}
	for _, r := range snap.Rows[1:] {
		if r.State != StateComplete || r.Worker != "live" {
			t.Errorf("trial %d: %s by %s", r.Number, r.State, r.Worker)
		}
	}
}

// BenchmarkPGTrialOverhead: the database's cost of one trial (claim with
// its proposal, heartbeat-free result) for one worker, with an instant
// objective: ns/op is the per-trial overhead of a shared study.
func BenchmarkPGTrialOverhead(b *testing.B) {
	srv := pgtest.Shared(b)
	dsn := srv.NewDB(b)
	ds := toyData()
	opt := toyOptions(ds, &fakeMethod{}, b.N)
	opt.Threads = 1
	p, err := OpenPG(context.Background(), dsn, PGOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.Join(context.Background(), "bench", testHeader, nil, b.N); err != nil {
		b.Fatal(err)
	}
	r, err := cv.NewRunner(ds, opt)
	if err != nil {
		b.Fatal(err)
	}
	var method time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := p.Next(context.Background(), r)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		t, err := r.Run(context.Background(), l.Index, l.Params, nil)
		method += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Finish(context.Background(), l, t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(method.Nanoseconds())/float64(b.N), "method-ns/op")
}

// BenchmarkPGWorkers: 32 trials of an objective that sleeps 30 ms per fold
// (4 folds run in parallel: ~30 ms a trial, no CPU), with 1, 2 and 4
// workers: the protocol's own speed-up (claims, the Lag rule's waits,
// polling), apart from the CPU the real objective would need.
func BenchmarkPGWorkers(b *testing.B) {
	srv := pgtest.Shared(b)
	ds := toyData()
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dsn := srv.NewDB(b)
				opt := toyOptions(ds, &fakeMethod{delay: 30 * time.Millisecond}, 32)
				opt.Threads = 4
				b.StartTimer()
				wait := goAll(n, func(w int) error {
					return worker(b, dsn, fmt.Sprintf("w%d", w), ds, opt, nil, context.Background(), nil, nil)
				})
				if err := wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A waiting worker wakes up at a finished trial's notification, not at
// the end of its poll interval (here a minute); and again after its
// listening connection was cut.
func TestPGWaitWakesOnNotify(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	a, b := openPG(t, dsn, PGOptions{}), openPG(t, dsn, PGOptions{})
	for _, p := range []*PG{a, b} {
		if _, _, err := p.Join(context.Background(), "s", testHeader, nil, 3); err != nil {
			t.Fatal(err)
		}
	}
	for round := 0; round < 2; round++ {
		woke := make(chan struct{})
		go func() {
			a.Wait(context.Background(), time.Minute)
			close(woke)
		}()
		// Notify until the waiter hears one (it may not be listening yet).
		tick := time.NewTicker(50 * time.Millisecond)
	loop:
		for {
			select {
			case <-woke:
				break loop
			case <-tick.C:
				b.notify(context.Background())
			}
		}
		tick.Stop()
		if round == 0 {
			// Cut the listener's connection: the next Wait listens anew.
			if _, err := b.pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`); err != nil {
				t.Fatal(err)
			}
			a.Wait(context.Background(), 200*time.Millisecond) // finds the connection broken
		}
	}
}

// 16 workers racing for the claims and creations of 64 instant trials:
// each trial is created once and run once, and the study is Tune's.
func TestPGClaimRace(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	ds := toyData()
	opt := toyOptions(ds, &fakeMethod{}, 64)
	opt.Sampler, opt.Threads = cv.SamplerRandom, 1
	ref, err := cv.Tune(context.Background(), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	wait := goAll(16, func(w int) error {
		return worker(t, dsn, fmt.Sprintf("w%d", w), ds, opt, nil, context.Background(), nil, nil)
	})
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	snap := checkStudy(t, openPG(t, dsn, PGOptions{}), ref.Trials)
	for _, r := range snap.Rows {
		if r.Attempt != 1 {
			t.Errorf("trial %d ran %d times", r.Number, r.Attempt)
		}
	}
}

// goAll runs f(0), ..., f(n-1) in goroutines; the returned wait blocks
// until all have returned and joins their errors.
func goAll(n int, f func(i int) error) (wait func() error) {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	return func() error {
		wg.Wait()
		return errors.Join(errs...)
	}
}
