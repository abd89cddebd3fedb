// Package chart draws ncd's figures with gonum/plot: index-vs-k curves
// (estimate-k) and the trials of a tuning study (tune).
package chart

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Panel is one curve: values against k, with the preferred k marked.
type Panel struct {
	Title  string
	Ks     []int
	Values []float64
	Best   int  // k to mark (0: none)
	Chosen bool // Best is the k the command reported
}

// Save draws the panels side by side (at most 3 per row) into path (.svg or
// .png), written atomically.
func Save(path string, panels []Panel) error {
	if len(panels) == 0 {
		return fmt.Errorf("chart: nothing to draw")
	}
	cols := min(3, len(panels))
	rows := (len(panels) + cols - 1) / cols
	w, h := vg.Length(cols)*4*vg.Inch, vg.Length(rows)*3*vg.Inch
	c, err := canvasFor(path, w, h)
	if err != nil {
		return err
	}
	plots := make([]*plot.Plot, len(panels))
	for i, p := range panels {
		pl, err := curve(p)
		if err != nil {
			return err
		}
		plots[i] = pl
	}
	return save(path, c, plots, cols)
}

// CheckPath tells, before any work is done, whether path names a format the
// charts can be written in (.svg or .png).
func CheckPath(path string) error {
	_, err := canvasFor(path, vg.Inch, vg.Inch)
	return err
}

// canvasFor returns a w x h canvas for path's format (.svg or .png).
func canvasFor(path string, w, h vg.Length) (vg.CanvasWriterTo, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && atomicfile.IsSink(path) {
		ext = ".svg" // /dev/null, a pipe: no extension to go by
	}
	switch ext {
	case ".svg":
		return vgsvg.New(w, h), nil
	case ".png":
		return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))}, nil
	}
	return nil, &usererr.Error{File: path, Msg: "plot format must be .svg or .png"}
}

// save lays the plots out in rows of cols on c and writes c to path.
func save(path string, c vg.CanvasWriterTo, plots []*plot.Plot, cols int) error {
	rows := (len(plots) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
	}
	for i, pl := range plots {
		grid[i/cols][i%cols] = pl
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, tiles, draw.New(c))
	for r := range grid {
		for col, pl := range grid[r] {
			if pl != nil {
				pl.Draw(canvases[r][col])
			}
		}
	}
	return writeAtomic(path, c)
}

// writeAtomic writes c to path through atomicfile.Write (mode 0666 minus
// the umask, never a partial file, straight into a device such as /dev/null).
func writeAtomic(path string, c vg.CanvasWriterTo) error {
	return atomicfile.Write(path, false, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}

func curve(p Panel) (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.X.Label.Text = "k"
	pts := make(plotter.XYs, 0, len(p.Ks))
	for i, k := range p.Ks {
		if !math.IsNaN(p.Values[i]) && !math.IsInf(p.Values[i], 0) {
			pts = append(pts, plotter.XY{X: float64(k), Y: p.Values[i]})
		}
	}
	if len(pts) == 0 {
		return pl, nil
	}
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", p.Title, err)
	}
	points.Shape = draw.CircleGlyph{}
	points.Radius = vg.Points(2)
	pl.Add(plotter.NewGrid(), line, points)
	if p.Best > 0 {
		for _, q := range pts {
			if int(q.X) != p.Best {
				continue
			}
			// A vertical dashed line and a ring mark the preferred k; the
			// title says it in words (a legend would cover the curve).
			ymin, ymax := pts[0].Y, pts[0].Y
			for _, r := range pts {
				ymin, ymax = math.Min(ymin, r.Y), math.Max(ymax, r.Y)
			}
			vline, err := plotter.NewLine(plotter.XYs{{X: q.X, Y: ymin}, {X: q.X, Y: ymax}})
			if err != nil {
				return nil, err
			}
			vline.Color = plotColor(p.Chosen)
			vline.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			mark, err := plotter.NewScatter(plotter.XYs{q})
			if err != nil {
				return nil, err
			}
			mark.Shape = draw.RingGlyph{}
			mark.Radius = vg.Points(6)
			mark.Color = plotColor(p.Chosen)
			pl.Add(vline, mark)
			if p.Chosen {
				pl.Title.Text += fmt.Sprintf(": chosen k = %d", p.Best)
			} else {
				pl.Title.Text += fmt.Sprintf(": best k = %d", p.Best)
			}
		}
	}
	return pl, nil
}
