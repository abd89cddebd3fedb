//go:build !race

package tabularncd

const raceEnabled = false
