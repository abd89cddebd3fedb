// Package model stores a fitted ncd model in one versioned file.
//
// Layout: the 8-byte magic "NCDMODEL", a little-endian uint32 format version,
// a uint64 payload length, the gob-encoded payload, and a CRC-32 (IEEE) of the
// payload. Truncation, corruption and files from another format version are
// all detected before any field is used, and reported as user errors.
package model

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/usererr"
)

const magic = "NCDMODEL"

// FormatVersion is bumped whenever the payload's meaning changes; files of
// another version are refused.
const FormatVersion uint32 = 1

// maxPayload guards against a corrupt length field asking for absurd memory.
const maxPayload = 4 << 30

func encode(w io.Writer, payload any) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(payload); err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	hdr := make([]byte, 0, 20)
	hdr = append(hdr, magic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, FormatVersion)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(buf.Len()))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, crc32.ChecksumIEEE(buf.Bytes()))
}

func decode(name string, r io.Reader, payload any) error {
	bad := func(format string, args ...any) error {
		return &usererr.Error{File: name, Msg: fmt.Sprintf(format, args...)}
	}
	hdr := make([]byte, 20)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return bad("not an ncd model file (too short)")
	}
	if string(hdr[:8]) != magic {
		return bad("not an ncd model file (bad magic bytes)")
	}
	if v := binary.LittleEndian.Uint32(hdr[8:12]); v != FormatVersion {
		return bad("model file format version %d is not supported by this ncd (it reads version %d); refit the model with this version", v, FormatVersion)
	}
	n := binary.LittleEndian.Uint64(hdr[12:20])
	if n > maxPayload {
		return bad("model file is corrupt (payload length %d)", n)
	}
	body := make([]byte, n+4)
	if _, err := io.ReadFull(r, body); err != nil {
		return bad("model file is truncated")
	}
	data, sum := body[:n], binary.LittleEndian.Uint32(body[n:])
	if crc32.ChecksumIEEE(data) != sum {
		return bad("model file is corrupt (checksum mismatch)")
	}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(payload); err != nil {
		return bad("model file is corrupt: %v", err)
	}
	return nil
}

// SaveFile writes payload to path atomically in the container format (see
// atomicfile.Write: mode 0666 minus the umask, never a partial file).
func SaveFile(path string, payload any) error {
	// fsynced: a model is the product of minutes of training.
	return atomicfile.Write(path, true, func(w io.Writer) error { return encode(w, payload) })
}

// LoadFile reads a container written by SaveFile into payload.
func LoadFile(path string, payload any) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &usererr.Error{File: path, Msg: "model file does not exist"}
		}
		return &usererr.Error{File: path, Msg: "cannot open model file", Err: err}
	}
	defer f.Close()
	return decode(path, f, payload)
}
