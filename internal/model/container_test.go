package model

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/usererr"
)

type samplePayload struct {
	Name    string
	Weights []float64
	K       int
}

func TestContainerRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.ncd")
	in := samplePayload{Name: "pbn", Weights: []float64{0.1, -2.5e-300, 3}, K: 7}
	if err := SaveFile(path, in); err != nil {
		t.Fatal(err)
	}
	var out samplePayload
	if err := LoadFile(path, &out); err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || out.K != in.K || len(out.Weights) != 3 {
		t.Fatalf("got %+v", out)
	}
	for i := range in.Weights {
		if out.Weights[i] != in.Weights[i] {
			t.Fatalf("weight %d: got %v want %v", i, out.Weights[i], in.Weights[i])
		}
	}
	// No temp file is left next to the model.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("expected only the model file, found %d entries", len(entries))
	}
}

func TestContainerRejectsDamage(t *testing.T) {
	var good bytes.Buffer
	if err := encode(&good, samplePayload{Name: "x", Weights: []float64{1, 2, 3}, K: 2}); err != nil {
		t.Fatal(err)
	}
	raw := good.Bytes()
	check := func(name string, data []byte, want string) {
		t.Helper()
		var out samplePayload
		err := decode("m.ncd", bytes.NewReader(data), &out)
		if err == nil {
			t.Fatalf("%s: accepted a damaged file", name)
		}
		if !usererr.Is(err) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "m.ncd: ") {
			t.Fatalf("%s: error %q, want a user error mentioning %q", name, err, want)
		}
	}
	for n := 0; n < len(raw); n++ {
		check("truncated", raw[:n], "")
	}
	check("empty", nil, "too short")
	check("magic", append([]byte("NOTMODEL"), raw[8:]...), "bad magic")
	flipped := append([]byte(nil), raw...)
	flipped[25] ^= 0x40
	check("flipped payload byte", flipped, "checksum")
	future := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint32(future[8:12], FormatVersion+1)
	check("version", future, "format version 2")
	huge := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint64(huge[12:20], 1<<62)
	check("length", huge, "corrupt")
}

func TestLoadMissingFile(t *testing.T) {
	var out samplePayload
	err := LoadFile(filepath.Join(t.TempDir(), "nope.ncd"), &out)
	if !usererr.Is(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v", err)
	}
}
