package main

import (
	"fmt"
	"strings"

	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Bounds that only the loaded table decides (how many rows there are to
// cluster) are checked right after loading, before any training, embedding
// or scan: a fit with --k 500 and 315 unlabeled rows used to train for
// 11 s and then fail, and --k-max 400 on the same rows silently scanned
// k = 2..314 for minutes.
//
// The rule: a value the user gave (flag, NCD_* variable or config file)
// that the data cannot satisfy is refused with exit 2, naming the limit; a
// default that does not fit the data (--k-max 30 on 20 rows) is lowered to
// the limit with a note. A user who typed --k-max 400 expects a scan up to
// 400, and a silent scan up to 314 instead (or minutes of it) is a
// surprise; a user who typed nothing expects the command to adapt.

// kBounds describes the rows a command clusters, for the messages.
type kBounds struct {
	rows int    // rows to cluster (or to scan for k)
	what string // "the 315 unlabeled rows of x.csv"
}

func newKBounds(rows int, file string) kBounds {
	return kBounds{rows: rows, what: fmt.Sprintf("the %d unlabeled rows of %s", rows, file)}
}

// checkFixedK refuses a fixed k (k > 0) larger than the rows to cluster.
func (b kBounds) checkFixedK(k int) error {
	if k > b.rows {
		return usererr.New("--k %d: %s cannot make more than %d clusters; lower --k, or use --k auto", k, b.what, b.rows)
	}
	return nil
}

// checkScan checks --k-min and --k-max of a silhouette scan (--k auto) over
// the rows: the silhouette needs 2 <= k <= rows-1. A default --k-max above
// that is lowered in v (so the scan, the JSON and the saved settings all
// say what ran) and reported by the returned note.
func (b kBounds) checkScan(v *viper.Viper) (note string, err error) {
	limit := b.rows - 1
	if b.rows < 3 {
		return "", usererr.New("--k auto: %s are too few to estimate k (the scan needs at least 3); give --k", b.what)
	}
	if kmin := v.GetInt("k-min"); kmin > limit {
		return "", usererr.New("--k-min %d: %s allow at most k = %d (the silhouette needs fewer clusters than rows); lower --k-min", kmin, b.what, limit)
	}
	kmax := v.GetInt("k-max")
	if kmax <= limit {
		return "", nil
	}
	if v.IsSet("k-max") {
		return "", usererr.New("--k-max %d: %s allow at most k = %d (the silhouette needs fewer clusters than rows); lower --k-max", kmax, b.what, limit)
	}
	v.Set("k-max", limit)
	return fmt.Sprintf("the k scan stops at k = %d instead of the default --k-max %d: %s allow no more", limit, kmax, b.what), nil
}

// checkKnownACCScan checks --k-min and --k-max of the known-acc search, which
// clusters all rows (known and unlabeled) into known + novel clusters.
func (b kBounds) checkKnownACCScan(v *viper.Viper, nKnown int) (note string, err error) {
	limit := b.rows - nKnown
	if kmin := max(v.GetInt("k-min"), 1); kmin > limit {
		return "", usererr.New("--k-min %d: %s and %d known classes allow at most %d novel clusters; lower --k-min", kmin, b.what, nKnown, limit)
	}
	kmax := v.GetInt("k-max")
	if kmax <= limit {
		return "", nil
	}
	if v.IsSet("k-max") {
		return "", usererr.New("--k-max %d: %s and %d known classes allow at most %d novel clusters; lower --k-max", kmax, b.what, nKnown, limit)
	}
	v.Set("k-max", limit)
	return fmt.Sprintf("the known-acc search stops at %d novel clusters instead of the default --k-max %d: %s allow no more", limit, kmax, b.what), nil
}

// printBoundNote prints a note on stderr unless --quiet.
func printBoundNote(app *App, c common, note string) {
	if note != "" && !c.Quiet {
		fmt.Fprintf(app.Stderr, "ncd: note: %s\n", note)
	}
}

// checkKAgainstRows checks --k (k > 0: fixed) or the --k auto scan range
// against the rows fit or cluster will cluster, and prints the note of a
// lowered default.
func checkKAgainstRows(app *App, v *viper.Viper, c common, k int, b kBounds) error {
	if k > 0 {
		return b.checkFixedK(k)
	}
	note, err := b.checkScan(v)
	if err != nil {
		return err
	}
	printBoundNote(app, c, note)
	return nil
}

// checkFoldScan checks tune's --k auto scan range against the folds: each
// fold's scan clusters the rows of the classes it hides, so the fold hiding
// the fewest rows bounds --k-min and an explicit --k-max. With the default
// --k-max, a fold with fewer rows scans as far as its rows allow (noted).
func checkFoldScan(v *viper.Viper, ds *dataset.Dataset, folds [][]int) (note string, err error) {
	perClass := make([]int, len(ds.Classes))
	for _, ci := range ds.Known {
		if ci >= 0 {
			perClass[ci]++
		}
	}
	minRows, minFold := -1, 0
	for fi, f := range folds {
		n := 0
		for _, ci := range f {
			n += perClass[ci]
		}
		if minRows < 0 || n < minRows {
			minRows, minFold = n, fi
		}
	}
	if minRows < 0 {
		return "", nil
	}
	names := make([]string, len(folds[minFold]))
	for i, ci := range folds[minFold] {
		names[i] = ds.Classes[ci]
	}
	what := fmt.Sprintf("fold %d hides only %d rows (classes %s)", minFold, minRows, strings.Join(names, ","))
	limit := minRows - 1
	if minRows < 3 {
		return "", usererr.New("--k auto: %s, too few to estimate k (the scan needs at least 3); use --k true", what)
	}
	if kmin := v.GetInt("k-min"); kmin > limit {
		return "", usererr.New("--k-min %d: %s, which allow at most k = %d; lower --k-min", kmin, what, limit)
	}
	kmax := v.GetInt("k-max")
	if kmax <= limit {
		return "", nil
	}
	if v.IsSet("k-max") {
		return "", usererr.New("--k-max %d: %s, which allow at most k = %d; lower --k-max", kmax, what, limit)
	}
	return fmt.Sprintf("%s: its k scan stops at k = %d instead of the default --k-max %d", what, limit, kmax), nil
}
