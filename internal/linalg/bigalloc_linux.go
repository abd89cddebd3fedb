package linalg

import (
	"syscall"
	"unsafe"
)

// adviseHuge marks the 2 MiB-aligned interior of [p, p+size) MADV_HUGEPAGE.
// Errors are ignored: the advice is only a hint (THP may be disabled).
func adviseHuge(p unsafe.Pointer, size int) {
	const huge = 2 << 20
	start := (uintptr(p) + huge - 1) &^ (huge - 1)
	end := (uintptr(p) + uintptr(size)) &^ (huge - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}
