//go:build !linux

package linalg

import "unsafe"

func adviseHuge(unsafe.Pointer, int) {}
