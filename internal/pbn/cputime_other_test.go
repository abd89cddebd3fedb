//go:build !unix

package pbn

func cpuSeconds() float64 { return 0 }
