//go:build race

package nn

// raceEnabled: the race detector slows the numeric loops down about tenfold.
const raceEnabled = true
