package chart

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Trial is one trial of a tuning study as the study plot shows it: its
// mean score over the folds and the range of its fold scores.
type Trial struct {
	Index       int
	Score       float64 // mean over the folds it ran
	Low, High   float64 // smallest and largest fold score
	Complete    bool    // ran every fold (pruned and failed trials cannot win)
	FoldsScored int     // folds behind Score (0: nothing to draw)
}

// studyPoints adapts trials to plotter.XYer and plotter.YErrorer.
type studyPoints []Trial

func (s studyPoints) Len() int                    { return len(s) }
func (s studyPoints) XY(i int) (float64, float64) { return float64(s[i].Index), s[i].Score }
func (s studyPoints) YError(i int) (float64, float64) {
	return s[i].Score - s[i].Low, s[i].High - s[i].Score
}

// SaveStudy draws a tuning study into path (.svg or .png): every trial's
// mean score with the range of its fold scores, the best complete score so
// far as a step line, and the winning trial ringed in red. Trials that were
// pruned or failed are drawn as crosses. metric names the score ("ACC").
func SaveStudy(path, title, metric string, trials []Trial, best int) error {
	var done, cut studyPoints
	for _, t := range trials {
		switch {
		case t.FoldsScored == 0:
		case t.Complete:
			done = append(done, t)
		default:
			cut = append(cut, t)
		}
	}
	if len(done)+len(cut) == 0 {
		return fmt.Errorf("chart: no scored trial to draw")
	}
	c, err := canvasFor(path, 6*vg.Inch, 3.5*vg.Inch)
	if err != nil {
		return err
	}
	pl := plot.New()
	pl.Title.Text = title
	pl.X.Label.Text = "trial"
	pl.Y.Label.Text = metric + " over the folds (mean, fold range)"
	pl.Add(plotter.NewGrid())
	if len(done) > 0 {
		bars, err := plotter.NewYErrorBars(done)
		if err != nil {
			return err
		}
		bars.Color = color.Gray{Y: 150}
		pts, err := plotter.NewScatter(done)
		if err != nil {
			return err
		}
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(2.5)
		// Best complete score so far, as a step line over the trial order.
		var steps plotter.XYs
		run := 0.0
		for i, t := range done {
			if i == 0 || t.Score > run {
				if i > 0 {
					steps = append(steps, plotter.XY{X: float64(t.Index), Y: run})
				}
				run = t.Score
			}
			steps = append(steps, plotter.XY{X: float64(t.Index), Y: run})
		}
		line, err := plotter.NewLine(steps)
		if err != nil {
			return err
		}
		line.Color = plotColor(true)
		pl.Add(bars, pts, line)
		pl.Legend.Add("best so far", line)
		for _, t := range done {
			if t.Index != best {
				continue
			}
			mark, err := plotter.NewScatter(plotter.XYs{{X: float64(t.Index), Y: t.Score}})
			if err != nil {
				return err
			}
			mark.Shape = draw.RingGlyph{}
			mark.Radius = vg.Points(6)
			mark.Color = plotColor(true)
			pl.Add(mark)
		}
	}
	if len(cut) > 0 {
		x, err := plotter.NewScatter(cut)
		if err != nil {
			return err
		}
		x.Shape = draw.CrossGlyph{}
		x.Radius = vg.Points(3)
		x.Color = color.Gray{Y: 110}
		pl.Add(x)
		pl.Legend.Add("pruned or failed", x)
	}
	pl.Legend.Top = false
	pl.Legend.Left = false
	return save(path, c, []*plot.Plot{pl}, 1)
}
