package main

import (
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress is a bar on stderr when stderr is a terminal and --quiet is off,
// and a no-op otherwise, so commands can report progress unconditionally.
type progress struct {
	bar *progressbar.ProgressBar
}

func (app *App) newProgress(c common, total int, desc string) *progress {
	if c.Quiet || !app.StderrIsTTY || total <= 0 {
		return &progress{}
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

// Set moves the bar to n done.
func (p *progress) Set(n int) {
	if p.bar != nil {
		_ = p.bar.Set(n)
	}
}

// Describe changes the text in front of the bar.
func (p *progress) Describe(s string) {
	if p.bar != nil {
		p.bar.Describe(s)
	}
}

// Finish clears the bar.
func (p *progress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// setTotal changes the bar's maximum (for work whose size is known late).
func (p *progress) setTotal(n int) {
	if p.bar != nil && n > 0 && int64(n) != p.bar.GetMax64() {
		p.bar.ChangeMax(n)
	}
}
