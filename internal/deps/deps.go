// Package deps pins modules that packages under construction will import.
// Remove once every module here has a real importer.
package deps

import (
	_ "github.com/apache/arrow-go/v18/arrow"
	_ "github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/schollz/progressbar/v3"
	_ "gonum.org/v1/plot"
	_ "gonum.org/v1/plot/vg"
)
