//go:build !race

package spectral

// raceEnabled skips the slowest oracle checks under the race detector.
const raceEnabled = false
