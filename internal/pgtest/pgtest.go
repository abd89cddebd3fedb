// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb in
// a temporary folder, pg_ctl start on a free port (a unix socket in the same
// folder), stopped and deleted at the end. The server cannot run as root, so
// as root the cluster belongs to the user postgres (or nobody).
//
// The binaries come from $NCD_PG_BIN, else the newest
// /usr/lib/postgresql/*/bin (Debian's postgresql package, which .ci/run
// installs), else initdb on the PATH. Without them the tests are skipped with
// a message on stderr.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running throwaway cluster.
type Server struct {
	// DSN connects to the database postgres as the superuser ncd.
	DSN  string
	Port int
	Dir  string
	bin  string
	user string // run the server as this user ("" = the current one)
	mu   sync.Mutex
	up   bool
}

// Bin returns the folder of PostgreSQL's server binaries, or "".
func Bin() string {
	if b := os.Getenv("NCD_PG_BIN"); b != "" {
		return b
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p)
		}
	}
	return ""
}

var skipOnce sync.Once

// Start starts a private cluster, stopped and deleted when t ends; it skips
// t when PostgreSQL is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	if err == errNoPG {
		msg := "SKIP: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin, $NCD_PG_BIN or initdb on the PATH): the PostgreSQL storage tests did not run; .ci/install-postgres.sh installs it"
		skipOnce.Do(func() { fmt.Fprintln(os.Stderr, msg) })
		t.Skip(msg)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Destroy)
	return s
}

var (
	shared    *Server
	sharedErr error
	sharedMu  sync.Mutex
)

// Shared returns one cluster for the whole test binary (started on first
// use; call StopShared from TestMain). Tests that stop or restart the
// server must use Start.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = start()
	}
	if sharedErr == errNoPG {
		msg := "SKIP: PostgreSQL is not installed: the PostgreSQL storage tests did not run; .ci/install-postgres.sh installs it"
		skipOnce.Do(func() { fmt.Fprintln(os.Stderr, msg) })
		t.Skip(msg)
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// StopShared stops the shared cluster, if one was started.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.Destroy()
		shared = nil
	}
}

var errNoPG = fmt.Errorf("no PostgreSQL")

func start() (*Server, error) {
	bin := Bin()
	if bin == "" {
		return nil, errNoPG
	}
	// As root the server's user must reach the folder (a $TMPDIR may be
	// private), and the unix socket's path must stay short: /tmp.
	base := ""
	if os.Geteuid() == 0 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "ncd-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		for _, name := range []string{"postgres", "nobody"} {
			u, err := user.Lookup(name)
			if err != nil {
				continue
			}
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			if err := os.Chown(dir, uid, gid); err != nil {
				os.RemoveAll(dir)
				return nil, err
			}
			s.user = name
			break
		}
		if s.user == "" {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root and no user postgres or nobody to run PostgreSQL as")
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-U", "ncd", "--auth=trust", "-N", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	// The role pwuser (created by tests that need it) must give a password;
	// everyone else is trusted.
	hba := filepath.Join(s.data(), "pg_hba.conf")
	if old, err := os.ReadFile(hba); err == nil {
		_ = os.WriteFile(hba, append([]byte("host all pwuser 127.0.0.1/32 scram-sha-256\n"), old...), 0o600)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.DSN = fmt.Sprintf("postgres://ncd@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
	if err := s.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) data() string { return filepath.Join(s.Dir, "db") }

// run runs a PostgreSQL binary as the server's user.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.user != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.user, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.Dir
	return cmd.CombinedOutput()
}

// Start starts the server (after Stop).
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", s.Port, s.Dir)
	if out, err := s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.Dir, "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
		return fmt.Errorf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	s.up = true
	return nil
}

// Stop stops the server (fast: sessions are disconnected).
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up {
		return nil
	}
	out, err := s.run("pg_ctl", "-D", s.data(), "-m", "fast", "-w", "-t", "60", "stop")
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
	s.up = false
	return nil
}

// Destroy stops the server at once and deletes its folder.
func (s *Server) Destroy() {
	s.mu.Lock()
	if s.up {
		_, _ = s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "-t", "30", "stop")
		s.up = false
	}
	s.mu.Unlock()
	os.RemoveAll(s.Dir)
}

// NewDB creates a fresh database and returns its DSN.
func (s *Server) NewDB(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := "t_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	name = fmt.Sprintf("%s_%d", name, time.Now().UnixNano()%1e6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return strings.Replace(s.DSN, "/postgres?", "/"+name+"?", 1)
}
