// Package simd says which vector instruction sets the assembly kernels of
// this module may use on the running machine. Detection (CPUID, and the OS
// saving the wider registers: XGETBV) is golang.org/x/sys/cpu's.
//
// The flags are variables so that tests can force the portable paths and
// check that they give the same results. GODEBUG=cpu.avx512f=off (AVX2 and
// Go kernels only) or GODEBUG=cpu.avx2=off,cpu.fma=off (Go only) switches
// them off for a whole run; `make test` runs the suite all three ways.
package simd

import "golang.org/x/sys/cpu"

// AVX2FMA is true when AVX2 and FMA are usable (YMM state saved by the OS).
var AVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// AVX512 is true when AVX-512 F, DQ and VL are usable (ZMM and opmask state
// saved by the OS), in addition to AVX2FMA.
var AVX512 = AVX2FMA && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL
