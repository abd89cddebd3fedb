//go:build race

package pbn

// raceEnabled: the race detector slows the numeric loops down about tenfold.
const raceEnabled = true
