package study

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ncd-project/ncd/internal/cv"
)

// Storage is where a study lives: a JSON Lines file (FileStorage, one
// process at a time) or a PostgreSQL database (PG, any number of workers on
// any machines). Both can be read at any time for a status or an export.
type Storage interface {
	// Describe names the storage and the study for messages (never with a
	// password).
	Describe() string
	// Snapshot reads the study: its header and every trial with its state.
	Snapshot(ctx context.Context) (*Snapshot, error)
	// Close releases the storage.
	Close() error
}

// Trial states in a Snapshot (and in the database).
const (
	StateWaiting  = "waiting"
	StateRunning  = "running"
	StateComplete = "complete"
	StatePruned   = "pruned"
	StateFailed   = "failed"
)

// Snapshot is a study as read at one moment.
type Snapshot struct {
	Header Header
	// Total is the study's number of trials (0: not recorded, a file
	// study, whose total is the --trials of the command that runs it).
	Total int
	// Config is the template of the best configuration (see PG.Join;
	// nil for a file study).
	Config json.RawMessage
	// Rows are the study's trials, by number.
	Rows []Row
}

// Row is one trial of a Snapshot.
type Row struct {
	Number int
	State  string
	Params cv.Params
	// Trial is the result of a finished trial (nil otherwise).
	Trial *cv.Trial
	// Worker ran (or runs) the trial; Attempt counts its runs; Heartbeat is
	// the age in seconds of its last heartbeat (running trials); Refused
	// counts the late heartbeats and results refused from lost workers.
	Worker    string
	Attempt   int
	Heartbeat float64
	Refused   int
}

// Finished returns the finished trials, by number.
func (s *Snapshot) Finished() []cv.Trial {
	var out []cv.Trial
	for _, r := range s.Rows {
		if r.Trial != nil {
			out = append(out, *r.Trial)
		}
	}
	return out
}

// IsPostgres reports whether a --storage value names a PostgreSQL database.
func IsPostgres(spec string) bool {
	s := strings.ToLower(spec)
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// FileStorage is a study file (see Load): read-only here; Create and Append
// write it.
type FileStorage struct{ Path string }

// Describe implements Storage.
func (f FileStorage) Describe() string { return f.Path }

// Close implements Storage.
func (f FileStorage) Close() error { return nil }

// Snapshot implements Storage: every trial of a study file is finished.
func (f FileStorage) Snapshot(context.Context) (*Snapshot, error) {
	s, err := Load(f.Path)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Header: s.Header}
	for i := range s.Trials {
		t := s.Trials[i]
		snap.Rows = append(snap.Rows, Row{Number: t.Index, State: trialState(&t), Params: t.Params, Trial: &t, Attempt: 1})
	}
	return snap, nil
}

// trialState is the state of a finished trial.
func trialState(t *cv.Trial) string {
	switch {
	case t.Failed:
		return StateFailed
	case t.Pruned:
		return StatePruned
	default:
		return StateComplete
	}
}
