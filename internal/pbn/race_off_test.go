//go:build !race

package pbn

const raceEnabled = false
