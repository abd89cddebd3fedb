//go:build unix

package pbn

import "syscall"

// cpuSeconds returns the process's user+system CPU time. On a shared,
// loaded machine it tracks single-thread cost far better than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
