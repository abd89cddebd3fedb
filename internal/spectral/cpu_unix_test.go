//go:build unix

package spectral

import "syscall"

// cpuSeconds is the process's user+system CPU time: on a shared machine it
// says more about the work done than wall time.
func cpuSeconds() float64 {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
}
