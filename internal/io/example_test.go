package io_test

import (
	"fmt"
	"strings"

	ncdio "github.com/ncd-project/ncd/internal/io"
)

func Example() {
	csv := "size,color,class\n1,red,cat\n3,blue,dog\n5,red,NA\n7,green,bird\n"
	t, err := ncdio.Read("-", strings.NewReader(csv))
	if err != nil {
		panic(err)
	}
	p, err := ncdio.Fit(t, ncdio.Roles{Novel: []string{"bird"}})
	if err != nil {
		panic(err)
	}
	ds, err := p.Transform(t)
	if err != nil {
		panic(err)
	}
	fmt.Println(ds.Features)
	fmt.Println(ds.Classes, ds.Known, ds.Truth)
	for i := range ds.Rows() {
		fmt.Printf("%.3f\n", ds.X.Row(i))
	}
	// Output:
	// [size color=blue color=green color=red]
	// [cat dog] [0 1 -1 -1] [cat dog  bird]
	// [-1.342 0.000 0.000 1.000]
	// [-0.447 1.000 0.000 0.000]
	// [0.447 0.000 0.000 1.000]
	// [1.342 0.000 1.000 0.000]
}
