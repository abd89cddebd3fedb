// Command ncd discovers novel classes in tabular data. See README.md.
package main

import "os"

func main() {
	os.Exit(Execute(NewApp(), os.Args[1:]))
}
