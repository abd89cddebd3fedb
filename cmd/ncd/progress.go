package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ncd-project/ncd/internal/cv"
)

// All progress reporting lives here. On a terminal it is a bar on stderr;
// elsewhere (a log file, CI) a bar's carriage returns make no sense and a
// silent minute looks like a hang, so it is plain lines on stderr instead:
// one per finished unit of work (a network, a trial), at most one a
// second, and a heartbeat when nothing was printed for progressEvery.
// --quiet turns both off.

// Intervals of the plain-line progress (variables so tests can shorten them).
var (
	progressEvery  = 5 * time.Second // heartbeat
	milestoneEvery = time.Second     // at most one "unit done" line per interval (the last always)
)

// progress is a bar (terminal), plain lines (not a terminal) or nothing
// (--quiet), so commands can report progress unconditionally. Its methods
// may be called from one goroutine at a time (the work's callbacks are
// serialized); the heartbeat runs in its own.
type progress struct {
	bar   *progressbar.ProgressBar
	lines *lineProgress
}

func (app *App) newProgress(c common, total int, desc string) *progress {
	if c.Quiet || total <= 0 {
		return &progress{}
	}
	if !app.StderrIsTTY {
		return &progress{lines: &lineProgress{w: app.Stderr, desc: desc, total: total}}
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(app.Stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
	return &progress{bar: bar}
}

// Set moves the bar to n done (and starts the heartbeat of plain lines).
func (p *progress) Set(n int) {
	if p.bar != nil {
		_ = p.bar.Set(n)
	}
	if p.lines != nil {
		p.lines.set(n)
	}
}

// Describe changes the text in front of the bar (and of heartbeat lines).
func (p *progress) Describe(s string) {
	if p.bar != nil {
		p.bar.Describe(s)
	}
	if p.lines != nil {
		p.lines.describe(s)
	}
}

// Milestone prints msg as a plain line when stderr is not a terminal (the
// bar shows it through Describe already): a unit of work finished. A line
// closer than milestoneEvery to the previous one is skipped (unless it is
// the first, or last is set), so that a burst of fast trials does not flood
// a log; the counts in the next line cover the skipped ones.
func (p *progress) Milestone(msg string, last bool) {
	if p.lines != nil {
		p.lines.milestone(msg, last)
	}
}

// Finish clears the bar or stops the heartbeat. Calling it twice is harmless.
func (p *progress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	if p.lines != nil {
		p.lines.finish()
	}
}

// setTotal changes the bar's maximum (for work whose size is known late).
func (p *progress) setTotal(n int) {
	if p.bar != nil && n > 0 && int64(n) != p.bar.GetMax64() {
		p.bar.ChangeMax(n)
	}
	if p.lines != nil && n > 0 {
		p.lines.mu.Lock()
		p.lines.total = n
		p.lines.mu.Unlock()
	}
}

// lineProgress prints "ncd: <what>, <elapsed> s" lines.
type lineProgress struct {
	w    io.Writer
	desc string

	mu          sync.Mutex
	done, total int
	start, last time.Time // last: when a line was printed
	lines       int       // lines printed
	stop        chan struct{}
	exited      chan struct{} // closed when the heartbeat has returned
}

// beginLocked starts the clock and the heartbeat at the first sign of work
// (a progress made before its work starts, as fit's k-scan one, stays
// silent until then), once.
func (l *lineProgress) beginLocked() {
	if !l.start.IsZero() {
		return
	}
	l.start, l.last = time.Now(), time.Now()
	l.stop, l.exited = make(chan struct{}), make(chan struct{})
	go l.heartbeat(l.stop, l.exited)
}

func (l *lineProgress) heartbeat(stop, exited chan struct{}) {
	defer close(exited)
	tick := time.NewTicker(min(progressEvery, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			l.mu.Lock()
			if time.Since(l.last) >= progressEvery {
				pct := 0
				if l.total > 0 {
					pct = 100 * l.done / l.total
				}
				l.printLocked(fmt.Sprintf("%s, %d%% done", l.desc, pct))
			}
			l.mu.Unlock()
		}
	}
}

func (l *lineProgress) set(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.beginLocked()
	l.done = n
}

func (l *lineProgress) describe(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.desc = s
}

func (l *lineProgress) milestone(msg string, last bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.beginLocked()
	if last || l.lines == 0 || time.Since(l.last) >= milestoneEvery {
		l.printLocked(msg)
	}
}

func (l *lineProgress) printLocked(msg string) {
	fmt.Fprintf(l.w, "ncd: %s, %.0f s\n", msg, time.Since(l.start).Seconds())
	l.last = time.Now()
	l.lines++
}

// finish stops the heartbeat and waits for it to return, so that nothing
// of this progress runs once the command's work is over.
func (l *lineProgress) finish() {
	l.mu.Lock()
	if l.stop != nil {
		close(l.stop)
		l.stop = nil
	}
	exited := l.exited
	l.mu.Unlock()
	if exited != nil {
		<-exited
	}
}

// trainProgress reports fit's training: nets networks of epochs epochs,
// trained a few at a time, their epochs reported in turns.
type trainProgress struct {
	p              *progress
	nets, epochs   int
	done, netsDone int
	ce, rec        []float64 // each network's latest epoch
	names          [2]string // the two losses' names (ce, rec)
}

func (app *App) newTrainProgress(c common, nets, epochs int) *trainProgress {
	return &trainProgress{p: app.newProgress(c, nets*epochs, "training"), nets: nets, epochs: epochs,
		ce: make([]float64, nets), rec: make([]float64, nets), names: [2]string{"ce", "rec"}}
}

// OnEpoch is pbn's epoch callback. The bar shows the loss of the network
// that just finished an epoch (it showed network 0's only, so an ensemble's
// loss froze once network 0 was done); plain lines come per finished
// network.
func (t *trainProgress) OnEpoch(member, epoch int, ce, rec float64) {
	t.done++
	t.ce[member], t.rec[member] = ce, rec
	net := ""
	if t.nets > 1 {
		net = fmt.Sprintf(" net %d/%d", member+1, t.nets)
	}
	t.p.Describe(fmt.Sprintf("training%s (%s %.3f, %s %.3f)", net, t.names[0], ce, t.names[1], rec))
	t.p.Set(t.done)
	if epoch == t.epochs-1 {
		t.netsDone++
		t.p.Milestone(fmt.Sprintf("training: %d/%d networks done (network %d: %s %.3f, %s %.3f)",
			t.netsDone, t.nets, member+1, t.names[0], ce, t.names[1], rec), t.netsDone == t.nets)
	}
	if t.done == t.nets*t.epochs {
		t.p.Finish()
	}
}

// FinalLoss is the networks' mean cross-entropy and reconstruction error
// over their last epoch.
func (t *trainProgress) FinalLoss() (ce, rec float64) {
	for i := range t.ce {
		ce += t.ce[i] / float64(t.nets)
		rec += t.rec[i] / float64(t.nets)
	}
	return ce, rec
}

// Finish stops the bar (also when training failed or was interrupted).
func (t *trainProgress) Finish() { t.p.Finish() }

// tuneProgress reports a tune: the bar counts folds, plain lines come per
// finished trial.
type tuneProgress struct {
	p          *progress
	trialsDone int // at the previous status
}

func (app *App) newTuneProgress(c common, trials, folds int) *tuneProgress {
	return &tuneProgress{p: app.newProgress(c, trials*folds, "tuning")}
}

// OnStatus is cv.Options.Progress.
func (t *tuneProgress) OnStatus(s cv.Status) {
	t.p.setTotal(s.FoldsDone + s.FoldsLeft)
	t.p.Set(s.FoldsDone)
	best := "-"
	if s.Best != nil {
		best = fmt.Sprintf("%.4f (trial %d)", s.Best.ACC, s.Best.Index)
	}
	t.p.Describe(fmt.Sprintf("tuning: trial %d/%d, best ACC %s", s.TrialsDone, s.Trials, best))
	if s.TrialsDone > t.trialsDone {
		t.p.Milestone(fmt.Sprintf("tuning: %d/%d trials done, best ACC %s", s.TrialsDone, s.Trials, best), s.TrialsDone == s.Trials)
	}
	t.trialsDone = s.TrialsDone
}

// Finish stops the bar.
func (t *tuneProgress) Finish() { t.p.Finish() }
