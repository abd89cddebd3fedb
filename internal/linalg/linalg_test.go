package linalg

import (
	"math"
	"math/rand/v2"
	"testing"
)

func naiveABt(a, b Matrix) Matrix {
	c := New(a.Rows, b.Rows)
	for i := 0; i < a.Rows; i++ {
		for j := 0; j < b.Rows; j++ {
			s := 0.0
			for k := 0; k < a.Cols; k++ {
				s += a.At(i, k) * b.At(j, k)
			}
			c.Data[i*c.Cols+j] = s
		}
	}
	return c
}

func randMatrix(r *rand.Rand, rows, cols int) Matrix {
	m := New(rows, cols)
	for i := range m.Data {
		m.Data[i] = r.NormFloat64()
	}
	return m
}

func TestProductsMatchNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b := randMatrix(r, 37, 5), randMatrix(r, 23, 5)
	want := naiveABt(a, b)
	got := New(37, 23)
	MulABt(got, 1, a, b, 0)
	for i := range want.Data {
		if math.Abs(got.Data[i]-want.Data[i]) > 1e-12 {
			t.Fatalf("MulABt[%d] = %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
	// Mul with b transposed by hand and MulAtB with a transposed by hand
	// must give the same product.
	bt := New(5, 23)
	for i := 0; i < 23; i++ {
		for k := 0; k < 5; k++ {
			bt.Data[k*23+i] = b.At(i, k)
		}
	}
	at := New(5, 37)
	for i := 0; i < 37; i++ {
		for k := 0; k < 5; k++ {
			at.Data[k*37+i] = a.At(i, k)
		}
	}
	got2, got3 := New(37, 23), New(37, 23)
	Mul(got2, 1, a, bt, 0)
	MulAtB(got3, 1, at, bt, 0)
	for i := range want.Data {
		if math.Abs(got2.Data[i]-want.Data[i]) > 1e-12 || math.Abs(got3.Data[i]-want.Data[i]) > 1e-12 {
			t.Fatalf("Mul/MulAtB[%d] = %v/%v, want %v", i, got2.Data[i], got3.Data[i], want.Data[i])
		}
	}
}

func TestSqDist(t *testing.T) {
	// Hand-computed: (0,0)-(3,4) = 25, (1,1)-(3,4) = 13, (1,1)-(1,1) = 0.
	a := FromRows([][]float64{{0, 0}, {1, 1}})
	b := FromRows([][]float64{{3, 4}, {1, 1}})
	d := New(2, 2)
	SqDist(d, a, RowSqNorms(a, nil), b, RowSqNorms(b, nil))
	want := []float64{25, 2, 13, 0}
	for i, w := range want {
		if math.Abs(d.Data[i]-w) > 1e-12 {
			t.Fatalf("SqDist = %v, want %v", d.Data, want)
		}
	}
	if SqDistRows([]float64{0, 0}, []float64{3, 4}) != 25 {
		t.Fatal("SqDistRows")
	}
}

func TestSelectSliceClone(t *testing.T) {
	m := FromRows([][]float64{{1, 2}, {3, 4}, {5, 6}})
	s := m.Select([]int{2, 0})
	if s.At(0, 1) != 6 || s.At(1, 0) != 1 {
		t.Fatalf("Select = %v", s.Data)
	}
	v := m.Slice(1, 3)
	v.Data[0] = 30
	if m.At(1, 0) != 30 {
		t.Fatal("Slice must share storage")
	}
	c := m.Clone()
	c.Data[0] = -1
	if m.At(0, 0) != 1 {
		t.Fatal("Clone must copy")
	}
}

func TestMakeBig(t *testing.T) {
	// Above and below the huge-page threshold: the right length, all zero,
	// writable to the last element.
	for _, n := range []int{0, 7, hugeMin/8 + 3} {
		s := MakeBig[float64](n)
		if len(s) != n {
			t.Fatalf("len %d, want %d", len(s), n)
		}
		for i, v := range s {
			if v != 0 {
				t.Fatalf("element %d = %g, want 0", i, v)
			}
		}
		if n > 0 {
			s[n-1] = 1
		}
	}
	if f := MakeBig[float32](hugeMin/4 + 1); len(f) != hugeMin/4+1 || f[len(f)-1] != 0 {
		t.Fatal("float32 slice wrong")
	}
}
