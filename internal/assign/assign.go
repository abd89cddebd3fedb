// Package assign applies a fitted model to a table too large for memory:
// the rows are read, preprocessed, embedded, assigned to the nearest
// centroid and written chunk by chunk (CSV blocks, Parquet row groups; see
// internal/io's ChunkSource), several chunks at once, the output in input
// order. Memory is bounded by the chunks in flight (about threads + 2 of
// them), not by the table.
//
// The output is the same file, byte for byte, as reading the whole table,
// transforming it and writing it (cmd's in-memory path): every step is
// row-local. Two things are not, and are handled so:
//   - A CSV column's kind (Int, Float, Text) comes from all its cells. A
//     pass starts with the kinds seen so far; a chunk that widens one (a
//     "2.5" deep in a column of integers) ends the pass, and the file is read
//     again with the wider kinds (the output file is only renamed into place
//     after a pass completes).
//   - The model's --unlabel-known draws depend on all rows of a class, and a
//     text cell in a numeric feature column is judged against the whole
//     column (a stray typo or a text column). Run returns ErrNeedsTable for
//     these; the caller then uses the in-memory path.
//
// Bad input is reported like the in-memory path does (file, row, column,
// no output file), except that the first problem in row order is named
// (the in-memory path reads every row before it transforms any).
package assign

import (
	"context"
	"errors"
	stdio "io"
	"strconv"
	"sync"

	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/dataset"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/model"
	"github.com/ncd-project/ncd/internal/usererr"
)

// ErrNeedsTable says the assignment needs the whole table in memory.
var ErrNeedsTable = errors.New("assign: this input needs the whole table in memory")

// Options configure Run.
type Options struct {
	Data, Out   string
	Read        ncdio.ReadOptions
	AssignKnown bool
	Threads     int // chunks processed at once (at least 1)
	// Progress, when set, is called after each chunk is written with the
	// rows written so far and the share of the input read (bytes of a CSV
	// file, row groups of a Parquet file).
	Progress func(rows int, done, total int64)
}

// Summary is what Run did.
type Summary struct {
	Rows      int            // rows written
	Clustered int            // unlabeled rows assigned
	Features  int            // columns of the encoded feature matrix
	Sizes     map[string]int // unlabeled rows per predicted name
	Inertia   float64        // summed over the chunks in order
	Chunks    int
	Passes    int // 1, or more when a column's kind widened mid-file
}

// Streamable reports whether Run can handle the model at all (see
// ErrNeedsTable); the input can still send Run back.
func Streamable(m *model.File) bool { return m.Prep.Roles.UnlabelKnown == 0 }

// Run assigns every row of opt.Data with m and writes opt.Out atomically.
func Run(ctx context.Context, m *model.File, opt Options) (*Summary, error) {
	if !Streamable(m) {
		return nil, ErrNeedsTable
	}
	f, err := ncdio.FormatOf(opt.Out)
	if err != nil {
		return nil, err
	}
	var kinds []ncdio.Kind
	for pass := 1; ; pass++ {
		var sum *Summary
		err := atomicfile.Write(opt.Out, false, func(w stdio.Writer) error {
			var err error
			sum, kinds, err = runPass(ctx, m, opt, f, w, kinds)
			return err
		})
		if errors.Is(err, ncdio.ErrKindsChanged) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sum.Passes = pass
		return sum, nil
	}
}

// chunkResult is one chunk's work.
type chunkResult struct {
	idx      int
	rows     int
	out      *ncdio.Table
	enc      []byte
	err      error
	widened  *ncdio.Table // the chunk's table, when its kinds are wider
	unl      int
	sizes    map[string]int
	inertia  float64
	features int
}

func runPass(ctx context.Context, m *model.File, opt Options, f ncdio.Format, w stdio.Writer, kinds []ncdio.Kind) (*Summary, []ncdio.Kind, error) {
	src, err := ncdio.OpenChunks(opt.Data, opt.Read)
	if err != nil {
		return nil, kinds, err
	}
	defer src.Close()
	if kinds == nil {
		kinds = src.Kinds()
	}
	if err := checkColumns(m, src); err != nil {
		return nil, kinds, err
	}
	cw, err := ncdio.NewChunkWriter(w, f)
	if err != nil {
		return nil, kinds, err
	}
	// The first chunk sets the kinds of this pass's start (a CSV column is
	// Int until a cell says otherwise): without it, every pass over a file
	// of floats would end at its first chunk.
	first, err := src.Next()
	if err == stdio.EOF {
		return nil, kinds, usererr.InFile(opt.Data, 0, "", "no data rows: the file has a header but no rows")
	}
	if err != nil {
		return nil, kinds, err
	}
	t0, err := src.Parse(first, kinds)
	if err != nil {
		return nil, kinds, err
	}
	ncdio.MergeKinds(kinds, t0)
	t0 = nil
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	threads := max(1, opt.Threads)
	slots := make(chan struct{}, threads+2) // chunks in flight
	work := make(chan *ncdio.Chunk)
	results := make(chan *chunkResult, threads+2)
	readErr := make(chan error, 1)
	go func() { // reader: cuts chunks in order
		defer close(work)
		for c := first; ; c = nil {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				readErr <- nil
				return
			}
			var err error
			if c == nil {
				c, err = src.Next()
			}
			if err != nil {
				if err == stdio.EOF {
					err = nil
				}
				readErr <- err
				return
			}
			select {
			case work <- c:
			case <-ctx.Done():
				readErr <- nil
				return
			}
		}
	}()
	passKinds := append([]ncdio.Kind(nil), kinds...)
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				r := doChunk(m, src, c, passKinds, f, opt.AssignKnown)
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	sum := &Summary{Sizes: map[string]int{}}
	pending := map[int]*chunkResult{}
	next := 0
	seen := make([]bool, len(kinds)) // a CSV column had a number somewhere
	var firstErr error
	for r := range results {
		if firstErr != nil {
			continue
		}
		pending[r.idx] = r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if r.err != nil {
				firstErr = ncdio.OffsetRows(r.err, sum.Rows)
				cancel()
				break
			}
			if r.widened != nil {
				ncdio.MergeKinds(kinds, r.widened)
				firstErr = ncdio.ErrKindsChanged
				cancel()
				break
			}
			for j, c := range r.out.Columns[:len(kinds)] {
				if c.NullCount() < c.Len() {
					seen[j] = true
				}
			}
			if err := cw.Write(r.out, r.enc); err != nil {
				firstErr = err
				cancel()
				break
			}
			sum.Rows += r.rows
			sum.Clustered += r.unl
			sum.Inertia += r.inertia
			sum.Features = r.features
			sum.Chunks++
			for k, v := range r.sizes {
				sum.Sizes[k] += v
			}
			<-slots
			if opt.Progress != nil {
				done, total := src.Progress()
				opt.Progress(sum.Rows, done, total)
			}
		}
	}
	if err := <-readErr; firstErr == nil && err != nil {
		firstErr = err
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, kinds, firstErr
	}
	if sum.Rows == 0 {
		return nil, kinds, usererr.InFile(opt.Data, 0, "", "no data rows: the file has a header but no rows")
	}
	if f == ncdio.Parquet {
		// A CSV column with no number in any row is Float in a table read
		// whole; its type shows in a Parquet file.
		widen := false
		for j, k := range kinds {
			if k == ncdio.Int && !seen[j] {
				kinds[j], widen = ncdio.Float, true
			}
		}
		if widen {
			return nil, kinds, ncdio.ErrKindsChanged
		}
	}
	return sum, kinds, cw.Close()
}

// SliceRows is how many rows are preprocessed, embedded and assigned at
// once (a variable so that tests can shrink it).
var SliceRows = 16384

// sliceTable returns rows [lo, hi) of t, sharing its storage.
func sliceTable(t *ncdio.Table, lo, hi int) *ncdio.Table {
	if lo == 0 && hi == t.Rows {
		return t
	}
	out := &ncdio.Table{Source: t.Source, Rows: hi - lo, Columns: make([]*ncdio.Column, len(t.Columns))}
	for j, c := range t.Columns {
		d := &ncdio.Column{Name: c.Name, Kind: c.Kind}
		switch c.Kind {
		case ncdio.Float:
			d.Float = c.Float[lo:hi]
		case ncdio.Int:
			d.Int = c.Int[lo:hi]
		case ncdio.Text:
			d.Text = c.Text[lo:hi]
		case ncdio.Bool:
			d.Bool = c.Bool[lo:hi]
		}
		if c.Null != nil {
			d.Null = c.Null[lo:hi]
		}
		out.Columns[j] = d
	}
	return out
}

// checkColumns refuses a file without the model's feature columns, as the
// in-memory Transform does.
func checkColumns(m *model.File, src *ncdio.ChunkSource) error {
	have := map[string]bool{}
	for _, n := range src.Names() {
		have[n] = true
	}
	var fitted []string
	for _, f := range m.Prep.Features {
		fitted = append(fitted, f.Name)
	}
	for _, f := range m.Prep.Features {
		if !have[f.Name] {
			return usererr.InFile(src.Name(), 0, f.Name, "column is missing; the preprocessing was fitted with the columns %s", ncdio.JoinNames(fitted))
		}
	}
	return nil
}

func doChunk(m *model.File, src *ncdio.ChunkSource, c *ncdio.Chunk, kinds []ncdio.Kind, f ncdio.Format, assignKnown bool) *chunkResult {
	r := &chunkResult{idx: c.Index}
	t, err := src.Parse(c, kinds)
	if err != nil {
		r.err = err
		return r
	}
	r.rows = t.Rows
	if ncdio.MergeKinds(append([]ncdio.Kind(nil), kinds...), t) {
		r.widened = t
		return r
	}
	for _, ft := range m.Prep.Features {
		if col, _ := t.Col(ft.Name); col != nil && ft.Kind.Numeric() && col.Kind == ncdio.Text {
			r.err = ErrNeedsTable
			return r
		}
	}
	// Preprocess, embed and assign in slices: a Parquet row group can hold
	// hundreds of thousands of rows, and the encoded features, the latents
	// of every network and their activations need not exist for all of
	// them at once.
	n := t.Rows
	names := make([]string, n)
	unlMask := make([]bool, n)
	r.sizes = map[string]int{}
	novelNames := make([]string, m.K)
	for j := range novelNames {
		novelNames[j] = "novel_" + strconv.Itoa(j)
	}
	res := &cluster.NCDResult{
		Result:         cluster.Result{Centroids: m.NovelCentroids},
		KnownCentroids: m.KnownCentroids,
		AssignKnown:    assignKnown,
	}
	for lo := 0; lo < n; lo += SliceRows {
		hi := min(lo+SliceRows, n)
		ds, err := m.Prep.Transform(sliceTable(t, lo, hi))
		if err != nil {
			r.err = ncdio.OffsetRows(err, lo)
			return r
		}
		r.features = ds.X.Cols
		unl := ds.UnlabeledRows()
		novel := make([]int, ds.Rows())
		known := ds.Known
		if len(unl) > 0 {
			Z := m.Embed(ds.X.Select(unl))
			pred, kn, inertia := res.Assign(Z, 1)
			r.inertia += inertia
			known = append([]int(nil), ds.Known...)
			for j, i := range unl {
				novel[i] = pred[j]
				if kn != nil {
					known[i] = kn[j]
				}
			}
		}
		for i := range ds.Rows() {
			unlMask[lo+i] = ds.Known[i] == dataset.Unlabeled
			if known[i] != dataset.Unlabeled {
				names[lo+i] = ds.Classes[known[i]]
			} else {
				names[lo+i] = novelNames[novel[i]]
			}
			if unlMask[lo+i] {
				r.sizes[names[lo+i]]++
			}
		}
		r.unl += len(unl)
	}
	out := t.ShallowCopy()
	out.AppendText("cluster", names)
	out.AppendBool("unlabeled", unlMask)
	r.out = out
	if r.enc, err = ncdio.EncodeChunk(out, f); err != nil {
		r.err = err
	}
	return r
}
