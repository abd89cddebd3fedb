package io

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// predictionsOf is what cmd/ncd writes for iris with versicolor and
// virginica hidden: every input column plus cluster and unlabeled.
func predictionsOf(t *testing.T, tb *Table) *Table {
	t.Helper()
	cls, _ := tb.Col("class")
	cluster := make([]string, tb.Rows)
	unl := make([]bool, tb.Rows)
	for i := range cluster {
		if c := cls.Cell(i); c == "setosa" {
			cluster[i] = c
		} else {
			cluster[i], unl[i] = "novel_"+string(rune('0'+i%2)), true
		}
	}
	out := tb.ShallowCopy()
	out.AppendText("cluster", cluster)
	out.AppendBool("unlabeled", unl)
	return out
}

// TestOwnOutputRecognised: ncd's predictions, written as CSV or Parquet and
// read back, are recognised, and Fit leaves their columns out with a note
// (unless --features names them); the features are those of the input.
func TestOwnOutputRecognised(t *testing.T) {
	iris, err := Read("../../testdata/iris.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	pred := predictionsOf(t, iris)
	dir := t.TempDir()
	roles := Roles{Novel: []string{"versicolor", "virginica"}}
	pIris, dIris := fitTransform(t, iris, roles)
	for _, name := range []string{"p.csv", "p.parquet", "p.tsv.gz"} {
		path := filepath.Join(dir, name)
		if err := Write(path, pred); err != nil {
			t.Fatal(err)
		}
		back, err := ReadWith(path, nil, ReadOptions{Text: []string{"class"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := OwnOutputColumns(back, "class"); !reflect.DeepEqual(got, []string{"cluster", "unlabeled"}) {
			t.Errorf("%s: own columns %q", name, got)
		}
		p, ds := fitTransform(t, back, roles)
		if !reflect.DeepEqual(ds.Features, dIris.Features) || !reflect.DeepEqual(ds.X.Data, dIris.X.Data) || !reflect.DeepEqual(p.Features, pIris.Features) {
			t.Errorf("%s: features %q, want iris' %q", name, ds.Features, dIris.Features)
		}
		want := `columns "cluster", "unlabeled" are an earlier ncd run's predictions, not data: they are left out of the features (name them in --features to use them)`
		if !reflect.DeepEqual(p.Notes, []string{want}) {
			t.Errorf("%s: notes %q", name, p.Notes)
		}
		// Named in --features, they are features (one-hot: 2 + 3 levels).
		p, _ = fitTransform(t, back, Roles{Novel: roles.Novel, Features: []string{"sepal_length", "cluster", "unlabeled"}})
		if p.Dims() != 1+3+2 || len(p.Notes) != 0 {
			t.Errorf("%s --features: %d dims, notes %q", name, p.Dims(), p.Notes)
		}
		// Excluded, they are not mentioned.
		p, _ = fitTransform(t, back, Roles{Novel: roles.Novel, Exclude: []string{"cluster", "unlabeled"}})
		if p.Dims() != 4 || len(p.Notes) != 0 {
			t.Errorf("%s --exclude: %d dims, notes %q", name, p.Dims(), p.Notes)
		}
		// Predictions used as the target: unlabeled alone is left out.
		p, _ = fitTransform(t, back, Roles{Target: "cluster"})
		if p.Dims() != 4+3 || len(p.Notes) != 1 || !strings.HasPrefix(p.Notes[0], `column "unlabeled" is an earlier ncd run's prediction`) {
			t.Errorf("%s --target cluster: %d dims, notes %q", name, p.Dims(), p.Notes)
		}
	}
}

func TestOwnOutputRule(t *testing.T) {
	cases := []struct {
		name, csv string
		want      []string
	}{
		{"ncd output", "x,class,cluster,unlabeled\n1,a,a,false\n2,b,novel_0,true\n3,,novel_1,true\n", []string{"cluster", "unlabeled"}},
		// Round-tripped through pandas (True/False) or a tool writing 1/0.
		{"pandas bools", "x,class,cluster,unlabeled\n1,a,a,False\n2,b,novel_0,True\n", []string{"cluster", "unlabeled"}},
		{"0/1", "x,class,cluster,unlabeled\n1,a,a,0\n2,b,novel_0,1\n", []string{"cluster", "unlabeled"}},
		// --assign-known: no novel_<j>, but every labeled row's cluster is
		// its class.
		{"assign-known", "x,class,cluster,unlabeled\n1,a,a,false\n2,b,b,false\n3,,a,true\n", []string{"cluster", "unlabeled"}},
		// Later columns, when they look like ncd's.
		{"later columns", "x,class,cluster,unlabeled,novel,novelty_p,confidence\n1,a,a,false,false,0.1,1\n2,b,novel_0,true,true,0.9,0.5\n",
			[]string{"cluster", "unlabeled", "novel", "novelty_p", "confidence"}},
		{"later columns that are not", "x,class,cluster,unlabeled,novel,confidence\n1,a,a,false,maybe,3\n2,b,novel_0,true,yes,0.5\n",
			[]string{"cluster", "unlabeled"}},
		// Not ncd's: a user's own columns with these names.
		{"one of them", "x,class,cluster\n1,a,a\n2,b,novel_0\n", nil},
		{"unlabeled not boolean", "x,class,cluster,unlabeled\n1,a,a,no\n2,b,novel_0,2\n", nil},
		{"unlabeled missing", "x,class,cluster,unlabeled\n1,a,a,false\n2,b,novel_0,\n", nil},
		{"cluster missing", "x,class,cluster,unlabeled\n1,a,,false\n2,b,novel_0,true\n", nil},
		{"unlabeled rows in unknown clusters", "x,class,cluster,unlabeled\n1,a,a,false\n2,b,novel_0,true\n3,c,blue,true\n", nil},
		{"user cluster ids", "x,class,cluster,unlabeled\n1,a,3,false\n2,b,3,true\n3,c,4,false\n", nil},
		{"novel_ lookalike", "x,class,cluster,unlabeled\n1,a,x,false\n2,b,novel_x,true\n", nil},
	}
	for _, c := range cases {
		tb := mustRead(t, "o.csv", c.csv)
		if got := OwnOutputColumns(tb, "class"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
