//go:build race

package tabularncd

// raceEnabled: the race detector slows the numeric loops down about tenfold.
const raceEnabled = true
