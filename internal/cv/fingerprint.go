package cv

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"

	"github.com/ncd-project/ncd/internal/dataset"
)

// Fingerprint hashes everything about a prepared dataset that a trial's
// result depends on: the features, which rows are labeled with which known
// class, the class names and the true labels. A study is only resumed on a
// dataset with the same fingerprint.
func Fingerprint(ds *dataset.Dataset) string {
	h := sha256.New()
	var b [8]byte
	u64 := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	str := func(s string) {
		u64(uint64(len(s)))
		h.Write([]byte(s))
	}
	u64(uint64(ds.X.Rows))
	u64(uint64(ds.X.Cols))
	for _, v := range ds.X.Data {
		u64(math.Float64bits(v))
	}
	for _, k := range ds.Known {
		u64(uint64(int64(k)))
	}
	u64(uint64(len(ds.Classes)))
	for _, c := range ds.Classes {
		str(c)
	}
	u64(uint64(len(ds.Truth)))
	for _, t := range ds.Truth {
		str(t)
	}
	return hex.EncodeToString(h.Sum(nil))
}
