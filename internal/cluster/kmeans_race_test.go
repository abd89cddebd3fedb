//go:build race

package cluster

// raceOn is true under -race, where the heavy full-dataset checks are skipped
// (the race detector makes them 10-20x slower).
const raceOn = true
