package cv

import (
	"context"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/estimate"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/pbn"
)

func benchData(b *testing.B, path, novel string) *dataset.Dataset {
	tab, err := ncdio.Read(path, nil)
	if err != nil {
		b.Skip(err)
	}
	p, err := ncdio.Fit(tab, ncdio.Roles{Novel: strings.Split(novel, ",")})
	if err != nil {
		b.Fatal(err)
	}
	ds, err := p.Transform(tab)
	if err != nil {
		b.Fatal(err)
	}
	return ds
}

// BenchmarkLetterFold times one fold of a letter tune on one thread: PBN
// training (20 of the usual 200 epochs, to keep it short) on 14000 rows
// with 4 of the 19 known classes hidden, then the trimmed k scan (1 run x 3
// restarts, k 2..30) and k-means on the ~2100 hidden rows. A full fold
// costs about 10x the training part of this plus the same scan.
func BenchmarkLetterFold(b *testing.B) {
	ds := benchData(b, "../../testdata/letter_train.csv", "A,D,H,M,P,V,X")
	folds, _, err := MakeFolds(len(ds.Classes), FoldOptions{})
	if err != nil {
		b.Fatal(err)
	}
	fd, hidden, names := hideClasses(ds, folds[0])
	f := &Fold{Data: fd, Hidden: hidden, HiddenClasses: names, Threads: 1, scan: estimate.ScanOptions{Runs: 1, NInit: 3}}
	m := &PBN{Base: pbn.Config{Method: pbn.MethodPBN, Epochs: 20, BatchSize: 512, Shuffle: true}, Normalized: true, NInit: 10}
	p := Params{ParamLR: 6.142e-3, ParamW: 0.8605, ParamDropout: 0.0808, ParamLatentDim: 13}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Cluster(context.Background(), f, p); err != nil {
			b.Fatal(err)
		}
	}
}
