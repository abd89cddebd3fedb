package io

import (
	"strconv"
	"unsafe"
)

// Number parsing for the CSV fast path. Both functions accept exactly what
// strconv accepts (they hand anything unusual to strconv) and return the same
// values; they only avoid strconv's string conversion and its general
// algorithm for the common short decimal cells.

// parseInt parses an integer literal: an optional sign and decimal digits.
// ok is false for anything else, including integers that overflow int64
// (those are still numbers, parsed by parseFloat).
func parseInt(b []byte) (v int64, ok bool) {
	i := 0
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	n := len(b) - i
	if n == 0 {
		return 0, false
	}
	if n > 18 { // may overflow: let strconv decide
		for _, c := range b[i:] {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		v, err := strconv.ParseInt(bytesString(b), 10, 64)
		return v, err == nil
	}
	var u int64
	for _, c := range b[i:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + int64(c-'0')
	}
	if neg {
		u = -u
	}
	return u, true
}

// pow10 holds the powers of ten that are exact in a float64.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat parses b like strconv.ParseFloat(string(b), 64) and reports
// whether it is a number. Plain decimals with at most 15 significant digits
// and a small exponent take Clinger's exact fast path (mantissa and power of
// ten are both exact in a float64, so one IEEE multiply or divide rounds
// correctly, which is also strconv's first attempt); the rest go to strconv.
func parseFloat(b []byte) (float64, bool) {
	i := 0
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	var mant uint64
	digits, sig, exp := 0, 0, 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		digits++
		if mant == 0 && b[i] == '0' {
			continue // leading zero: not significant
		}
		mant = mant*10 + uint64(b[i]-'0')
		sig++
		if sig > 15 {
			return slowFloat(b)
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			digits++
			exp--
			if mant == 0 && b[i] == '0' {
				continue
			}
			mant = mant*10 + uint64(b[i]-'0')
			sig++
			if sig > 15 {
				return slowFloat(b)
			}
		}
	}
	if digits == 0 {
		return slowFloat(b) // "inf", "nan", hex, "." ...: strconv decides
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		start := i
		e := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if e < 10000 {
				e = e*10 + int(b[i]-'0')
			}
		}
		if i == start {
			return slowFloat(b)
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(b) {
		return slowFloat(b)
	}
	f := float64(mant) // exact: mant < 10^15 < 2^53
	switch {
	case mant == 0 || exp == 0:
	case exp > 0 && exp < len(pow10):
		f *= pow10[exp]
	case exp < 0 && -exp < len(pow10):
		f /= pow10[-exp]
	default:
		return slowFloat(b)
	}
	if neg {
		f = -f
	}
	return f, true
}

func slowFloat(b []byte) (float64, bool) {
	v, err := strconv.ParseFloat(bytesString(b), 64)
	if err != nil {
		// Out of range ("1e999") is still a number to strconv: it returns
		// ±Inf with ErrRange, and Fit rejects the non-finite value later
		// with a clear message instead of calling the column text.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// bytesString views b as a string without copying. Only for calls whose
// result does not retain the string (strconv's error value may, but we drop
// it before b can change).
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
