package tabularncd

import (
	"math"
	"sort"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/nn"
)

// bceEps is [O]'s epsilon inside the pairwise BCE's logarithms.
const bceEps = 1e-7

// pairwise computes the pairwise BCE of the clustering head; it keeps its
// n x n scratch matrices between calls.
type pairwise struct {
	srm, sfm []float64
	pp, pd   product
	threads  int
}

// loss returns -mean over i<j of t_ij log(p_ij+eps) + (1-t_ij) log(1-p_ij+eps)
// with p_ij = <softmax q_i, softmax q_j>, for the feature-major logits q
// (k x n) and the n x n row-major 0/1 targets t (only i<j is read), and
// writes scale times its gradient with respect to q into grad (k x n). With
// fewer than 2 columns the loss and the gradient are 0.
func (pw *pairwise) loss(q linalg.Matrix, t linalg.Matrix, scale float64, grad linalg.Matrix) float64 {
	k, n := q.Rows, q.Cols
	if n < 2 {
		clear(grad.Data)
		return 0
	}
	// Row-major softmax: one row of k probabilities per sample.
	srm := grow(&pw.srm, n, k)
	for j := 0; j < n; j++ {
		r := srm.Row(j)
		for c := 0; c < k; c++ {
			r[c] = q.Data[c*n+j]
		}
		softmaxRow(r)
	}
	p := pw.pp.mul(srm, nn.ToFeatureMajor(&pw.sfm, srm, nil), pw.threads)
	npairs := float64(n) * float64(n-1) / 2
	loss := 0.0
	// p becomes the symmetric gradient matrix G (dL/dp_ij on both sides of
	// the diagonal, 0 on it): dL/ds_i = sum_j G_ij s_j.
	for i := 0; i < n; i++ {
		pr := p.Row(i)
		pr[i] = 0
		for j := i + 1; j < n; j++ {
			pij := pr[j]
			tij := t.Data[i*n+j]
			loss -= tij*math.Log(pij+bceEps) + (1-tij)*math.Log(1-pij+bceEps)
			g := -scale / npairs * (tij/(pij+bceEps) - (1-tij)/(1-pij+bceEps))
			pr[j] = g
			p.Data[j*n+i] = g
		}
	}
	// ds = G s (n x k, row-major): srm read as an n x k feature-major batch.
	ds := pw.pd.mul(p, srm, pw.threads)
	// Softmax backward: dq = s * (ds - <s, ds>).
	for j := 0; j < n; j++ {
		s, d := srm.Row(j), ds.Row(j)
		dot := 0.0
		for c := range s {
			dot += s[c] * d[c]
		}
		for c := range s {
			grad.Data[c*n+j] = s[c] * (d[c] - dot)
		}
	}
	return loss / npairs
}

// consistency returns the mean over the elements of (y[:, j] - y[:, n+j])^2
// for the feature-major y (c x 2n), and adds scale times its gradient
// (through both sides) to grad (c x 2n).
func consistency(y linalg.Matrix, scale float64, grad linalg.Matrix) float64 {
	c, n := y.Rows, y.Cols/2
	if n == 0 {
		return 0
	}
	N := float64(c * n)
	s := 0.0
	for r := 0; r < c; r++ {
		row := y.Data[r*2*n : (r+1)*2*n]
		g := grad.Data[r*2*n : (r+1)*2*n]
		for j := 0; j < n; j++ {
			e := row[j] - row[n+j]
			s += e * e
			v := 2 * scale * e / N
			g[j] += v
			g[n+j] -= v
		}
	}
	return s / N
}

// normalizeEps floors norms in cosine similarities (PyTorch's
// cosine_similarity clamps with 1e-8): a zero row has similarity 0 to all.
const normalizeEps = 1e-8

// normalizeRows writes x's rows divided by max(norm, 1e-8) into dst.
func normalizeRows(dst, x linalg.Matrix) {
	for i := 0; i < x.Rows; i++ {
		xr, dr := x.Row(i), dst.Row(i)
		s := 0.0
		for _, v := range xr {
			s += v * v
		}
		s = max(math.Sqrt(s), normalizeEps)
		for j, v := range xr {
			dr[j] = v / s
		}
	}
}

// topK writes into idx the indices of the k largest values of r, largest
// first, ties to the lower index (k <= len(r)). It returns idx[:k].
func topK(r []float64, k int, idx []int) []int {
	idx = idx[:0]
	for j, v := range r {
		if len(idx) == k && v <= r[idx[k-1]] {
			continue
		}
		// Insert j after every entry >= v (earlier indices win ties).
		pos := sort.Search(len(idx), func(p int) bool { return r[idx[p]] < v })
		if len(idx) < k {
			idx = append(idx, 0)
		}
		copy(idx[pos+1:], idx[pos:len(idx)-1])
		idx[pos] = j
	}
	return idx
}

// pseudo computes the pairwise targets; it keeps its scratch buffers.
type pseudo struct {
	zrm, zfm []float64
	prod     product
	idx      []int
	t        []float64
	threads  int
}

// targets returns the n x n row-major 0/1 targets from the feature-major
// latent z (d x n) ([O] top_k_cosine_per_instance): the cosine matrix with a
// zero diagonal, each row's kpl largest entries (ties to the lower index, so
// a row's own 0 is only taken when fewer than kpl others are > 0) set to 1,
// then symmetrised: t = min(1, A + A^T).
func (ps *pseudo) targets(z linalg.Matrix, kpl int) linalg.Matrix {
	d, n := z.Rows, z.Cols
	zrm := grow(&ps.zrm, n, d)
	nn.FromFeatureMajor(zrm, z)
	normalizeRows(zrm, zrm)
	s := ps.prod.mul(zrm, nn.ToFeatureMajor(&ps.zfm, zrm, nil), ps.threads)
	t := grow(&ps.t, n, n)
	clear(t.Data)
	kpl = min(kpl, n)
	for i := 0; i < n; i++ {
		r := s.Row(i)
		r[i] = 0
		ps.idx = topK(r, kpl, ps.idx[:0])
		for _, j := range ps.idx {
			t.Data[i*n+j] = 1
			t.Data[j*n+i] = 1
		}
	}
	return t
}

// product computes matrix products through an nn.Linear with zero biases:
// nn's blocked kernels (AVX-512 where available), whose results do not
// depend on the thread count. The result stays valid until the next mul.
type product struct {
	l    nn.Linear
	zero []float64
}

// mul returns w x for w (out x in, row-major) and x (in x n).
func (p *product) mul(w, x linalg.Matrix, threads int) linalg.Matrix {
	if cap(p.zero) < w.Rows {
		p.zero = make([]float64, w.Rows)
	}
	p.l.In, p.l.Out, p.l.W, p.l.B, p.l.Threads = w.Cols, w.Rows, w.Data[:w.Rows*w.Cols], p.zero[:w.Rows], threads
	return p.l.Forward(x, false)
}
