package study

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ncd-project/ncd/internal/cv"
	"github.com/ncd-project/ncd/internal/usererr"
)

// SchemaVersion is the version of the database schema this ncd writes.
// A database with a newer schema is refused; an older one is migrated.
const SchemaVersion = 1

// migrations[v] takes the schema from version v to v+1.
var migrations = []string{
	`CREATE TABLE ncd_study (
		id          bigserial PRIMARY KEY,
		name        text UNIQUE NOT NULL,
		fingerprint text NOT NULL,
		header      text NOT NULL,  -- the study file's header line (JSON)
		config      text,           -- template of the best configuration (JSON)
		n_trials    int NOT NULL,
		max_attempts int NOT NULL DEFAULT 3,
		ncd_version text NOT NULL,
		created_at  timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE ncd_trial (
		study_id     bigint NOT NULL REFERENCES ncd_study(id) ON DELETE CASCADE,
		idx          int NOT NULL,
		state        text NOT NULL CHECK (state IN ('waiting','running','complete','pruned','failed')),
		params       text NOT NULL, -- JSON, as the study file writes it (floats round-trip)
		attempt      int NOT NULL DEFAULT 0,
		worker       text,
		lease        text,
		heartbeat_at timestamptz,
		created_at   timestamptz NOT NULL DEFAULT now(),
		finished_at  timestamptz,
		acc          double precision,
		result       text,          -- the study file's trial line (JSON)
		refused      int NOT NULL DEFAULT 0,
		PRIMARY KEY (study_id, idx)
	);`,
}

// migrateLock is the advisory lock key under which the schema is created
// and migrated ("ncd-sch").
const migrateLock = 0x6e63642d736368

// PGOptions configures a PostgreSQL study.
type PGOptions struct {
	// Worker names this process in the database (default host:pid).
	Worker string
	// Grace is how long a running trial may go without a heartbeat before
	// another worker takes it over (default 60 s).
	Grace time.Duration
	// RetryFor is how long a lost connection is retried before giving up
	// (default max(Grace, 60 s)): a server restart is ridden out.
	RetryFor time.Duration
	// ConnectTimeout bounds each connection attempt (default 5 s, unless
	// the DSN sets connect_timeout).
	ConnectTimeout time.Duration
	// Log, if set, receives one line per reconnection event.
	Log func(string)
}

// PG is a study in a PostgreSQL database. It implements Storage and
// cv.Queue. Many processes, on any machines, can work on one study.
type PG struct {
	pool        *pgxpool.Pool
	listener    *pgxpool.Conn // LISTENs for the study's news (see Wait)
	desc        string
	opt         PGOptions
	name        string
	id          int64
	maxAttempts int
}

// OpenPG connects to the database named by dsn (a postgres:// URL or a
// key=value string) and creates or migrates the schema. Every failure to
// reach or use the database is a user error naming the server, within
// seconds (never a hang).
func OpenPG(ctx context.Context, dsn string, opt PGOptions) (*PG, error) {
	if opt.Grace <= 0 {
		opt.Grace = 60 * time.Second
	}
	if opt.RetryFor <= 0 {
		opt.RetryFor = max(opt.Grace, 60*time.Second)
	}
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = 5 * time.Second
	}
	if opt.Worker == "" {
		host, _ := os.Hostname()
		opt.Worker = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		msg := "not a valid PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)"
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) && pe.Unwrap() != nil {
			msg += ": " + pe.Unwrap().Error()
		}
		return nil, &usererr.Error{Msg: "--storage " + redact(dsn) + ": " + msg}
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opt.ConnectTimeout
	}
	cfg.MaxConns = 4 // claims and results, heartbeats, the listener, a status
	cfg.MinConns = 0
	p := &PG{opt: opt, desc: describe(cfg)}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, p.connectError(err)
	}
	p.pool = pool
	pctx, cancel := context.WithTimeout(ctx, 2*cfg.ConnConfig.ConnectTimeout+2*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, p.connectError(err)
	}
	if err := p.migrate(pctx); err != nil {
		pool.Close()
		return nil, err
	}
	return p, nil
}

// describe is user@host:port/database.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	host := c.Host
	if strings.HasPrefix(host, "/") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", c.User, host, c.Port, c.Database)
}

// Redact removes the password from a URL-style DSN for messages.
func Redact(dsn string) string { return redact(dsn) }

// redact removes the password from a DSN for messages.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				rest = rest[:colon] + ":xxxxx" + rest[at:]
			}
		}
		dsn = dsn[:i+3] + rest
	}
	return dsn
}

// connectError explains a failure to connect.
func (p *PG) connectError(err error) error {
	var pe *pgconn.PgError
	msg := err.Error()
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			msg = "authentication failed (wrong user or password? set it in the URL or in PGPASSWORD): " + pe.Message
		case "3D000":
			msg = pe.Message + " (create it first, e.g. createdb)"
		default:
			msg = pe.Message + " (SQLSTATE " + pe.Code + ")"
		}
	} else if pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		msg = fmt.Sprintf("no answer within %s (server down, wrong host or port, or a firewall): %v", p.opt.ConnectTimeout, err)
	} else if errors.Is(err, syscall.ECONNREFUSED) {
		msg = "connection refused (is PostgreSQL running on that host and port?)"
	}
	return &usererr.Error{Msg: "--storage " + p.desc + ": cannot connect: " + msg}
}

// migrate creates or upgrades the schema under an advisory lock, so that
// workers starting at once on an empty database create it once.
func (p *PG) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return p.dbError("lock the schema", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS ncd_schema (version int NOT NULL)`); err != nil {
			return p.dbError("create the schema table", err)
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM ncd_schema`).Scan(&v); err != nil {
			return p.dbError("read the schema version", err)
		}
		if v > SchemaVersion {
			return &usererr.Error{Msg: fmt.Sprintf("--storage %s: the database has ncd schema version %d, from a newer ncd; this ncd knows version %d: upgrade ncd on this machine",
				p.desc, v, SchemaVersion)}
		}
		for ; v < SchemaVersion; v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return p.dbError(fmt.Sprintf("migrate the schema to version %d", v+1), err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM ncd_schema`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO ncd_schema (version) VALUES ($1)`, SchemaVersion)
		return err
	})
}

func (p *PG) dbError(what string, err error) error {
	if usererr.Is(err) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		return &usererr.Error{Msg: fmt.Sprintf("--storage %s: cannot %s: %s (the user needs the right to create tables)", p.desc, what, pe.Message)}
	}
	return fmt.Errorf("--storage %s: %s: %w", p.desc, what, err)
}

// Describe implements Storage.
func (p *PG) Describe() string {
	if p.name == "" {
		return p.desc
	}
	return p.desc + " (study " + p.name + ")"
}

// Close implements Storage.
func (p *PG) Close() error {
	p.dropListener()
	if p.pool != nil {
		p.pool.Close()
		p.pool = nil
	}
	return nil
}

// Worker is this process's name in the database.
func (p *PG) Worker() string { return p.opt.Worker }

// Join creates the study name (with header, the total of trials and the
// configuration template) or joins it: its fingerprint must be the
// header's (same data and settings). A larger total raises the study's;
// a smaller one leaves it. It returns whether the study was created and
// its total.
func (p *PG) Join(ctx context.Context, name string, h Header, config json.RawMessage, total int) (created bool, n int, err error) {
	h.Study = Version
	hj, err := json.Marshal(h)
	if err != nil {
		return false, 0, err
	}
	var cfg *string
	if config != nil {
		s := string(config)
		cfg = &s
	}
	err = p.retry(ctx, "join the study", func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO ncd_study (name, fingerprint, header, config, n_trials, ncd_version)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING RETURNING id`,
				name, h.Fingerprint, string(hj), cfg, total, h.NCDVersion).Scan(&id)
			if err == nil {
				p.id, created, n = id, true, total
				return tx.QueryRow(ctx, `SELECT max_attempts FROM ncd_study WHERE id = $1`, id).Scan(&p.maxAttempts)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			created = false
			var fp, oldHeader string
			if err := tx.QueryRow(ctx, `SELECT id, fingerprint, header, n_trials, max_attempts FROM ncd_study WHERE name = $1 FOR UPDATE`, name).
				Scan(&id, &fp, &oldHeader, &n, &p.maxAttempts); err != nil {
				return err
			}
			if fp != h.Fingerprint {
				var old Header
				_ = json.Unmarshal([]byte(oldHeader), &old)
				what := "the data differ (same settings)"
				if diff := Mismatch(old, h); len(diff) > 0 {
					what = "settings differ: " + strings.Join(diff, "; ")
				}
				return &usererr.Error{Msg: fmt.Sprintf("--storage %s: study %q was made with other data or settings, refusing to join it (%s); use another --study", p.desc, name, what)}
			}
			if total > n {
				if _, err := tx.Exec(ctx, `UPDATE ncd_study SET n_trials = $2 WHERE id = $1`, id, total); err != nil {
					return err
				}
				n = total
			}
			p.id = id
			return nil
		})
	})
	if err != nil {
		return false, 0, p.dbError("join study "+name, err)
	}
	p.name = name
	return created, n, nil
}

// Use opens an existing study for reading (status, export).
func (p *PG) Use(ctx context.Context, name string) error {
	err := p.retry(ctx, "find the study", func(ctx context.Context) error {
		return p.pool.QueryRow(ctx, `SELECT id, max_attempts FROM ncd_study WHERE name = $1`, name).Scan(&p.id, &p.maxAttempts)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		var names []string
		rows, qerr := p.pool.Query(ctx, `SELECT name FROM ncd_study ORDER BY name`)
		if qerr == nil {
			names, _ = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		have := "it has no study"
		if len(names) > 0 {
			have = "it has " + strings.Join(names, ", ")
		}
		return &usererr.Error{Msg: fmt.Sprintf("--storage %s: no study %q (%s)", p.desc, name, have)}
	}
	if err != nil {
		return p.dbError("find study "+name, err)
	}
	p.name = name
	return nil
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

const finishedStates = `('complete','pruned','failed')`

// Next implements cv.Queue: it claims the lowest trial whose worker was lost
// (no heartbeat for Grace; FOR UPDATE SKIP LOCKED, so that workers never
// wait for each other), else creates the next trial under the study row's
// lock with the parameters plan proposes, once plan's history is finished.
func (p *PG) Next(ctx context.Context, plan cv.Planner) (*cv.Lease, error) {
	token := newToken()
	var lease *cv.Lease
	retried := false
	err := p.retry(ctx, "claim a trial", func(ctx context.Context) error {
		// After a lost connection: did the claim commit?
		if retried {
			if l, err := p.byToken(ctx, token); err != nil || l != nil {
				lease = l
				return err
			}
		}
		retried = true
		l, err := p.next(ctx, plan, token)
		lease = l
		return err
	})
	return lease, err
}

func (p *PG) byToken(ctx context.Context, token string) (*cv.Lease, error) {
	var idx, attempt int
	var params string
	err := p.pool.QueryRow(ctx, `SELECT idx, params, attempt FROM ncd_trial WHERE study_id = $1 AND lease = $2 AND state = 'running'`, p.id, token).
		Scan(&idx, &params, &attempt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return lease(idx, params, attempt, token)
}

func lease(idx int, params string, attempt int, token string) (*cv.Lease, error) {
	var pm cv.Params
	if err := json.Unmarshal([]byte(params), &pm); err != nil {
		return nil, fmt.Errorf("trial %d: bad params in the database: %w", idx, err)
	}
	return &cv.Lease{Index: idx, Params: pm, Attempt: attempt, Token: token}, nil
}

func (p *PG) next(ctx context.Context, plan cv.Planner, token string) (*cv.Lease, error) {
	var out *cv.Lease
	// ErrWait and ErrStudyDone commit the transaction (trials given up on
	// stay failed): they are returned after it.
	var verdict error
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for {
			var idx, attempt int
			var params, state string
			err := tx.QueryRow(ctx, `SELECT idx, params, attempt, state FROM ncd_trial
				WHERE study_id = $1 AND (state = 'waiting' OR (state = 'running' AND heartbeat_at < now() - make_interval(secs => $2)))
				ORDER BY idx LIMIT 1 FOR UPDATE SKIP LOCKED`, p.id, p.opt.Grace.Seconds()).Scan(&idx, &params, &attempt, &state)
			if errors.Is(err, pgx.ErrNoRows) {
				break
			}
			if err != nil {
				return err
			}
			l, err := lease(idx, params, attempt+1, token)
			if err != nil {
				return err
			}
			if state == StateRunning && attempt >= p.maxAttempts {
				// Lost too often: give up on it (a failed trial).
				t := plan.Lost(idx, l.Params, attempt)
				line, _ := json.Marshal(t)
				if _, err := tx.Exec(ctx, `UPDATE ncd_trial SET state = 'failed', result = $3, acc = $4, finished_at = now()
					WHERE study_id = $1 AND idx = $2`, p.id, idx, string(line), t.ACC); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE ncd_trial SET state = 'running', attempt = attempt + 1, worker = $3, lease = $4, heartbeat_at = now()
				WHERE study_id = $1 AND idx = $2`, p.id, idx, p.opt.Worker, token); err != nil {
				return err
			}
			out = l
			return nil
		}
		// Nothing to take over: create the next trial, one creator at a time.
		var total int
		if err := tx.QueryRow(ctx, `SELECT n_trials FROM ncd_study WHERE id = $1 FOR UPDATE`, p.id).Scan(&total); err != nil {
			return err
		}
		var n, finished int
		if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state IN `+finishedStates+`) FROM ncd_trial WHERE study_id = $1`, p.id).
			Scan(&n, &finished); err != nil {
			return err
		}
		if n >= total {
			verdict = cv.ErrWait
			if finished == n {
				verdict = cv.ErrStudyDone
			}
			return nil
		}
		i := n
		if need := plan.Needs(i); need > 0 {
			var done int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM ncd_trial WHERE study_id = $1 AND idx < $2 AND state IN `+finishedStates, p.id, need).Scan(&done); err != nil {
				return err
			}
			if done < need {
				verdict = cv.ErrWait
				return nil
			}
		}
		hist, err := history(ctx, tx, p.id, i)
		if err != nil {
			return err
		}
		pm := plan.Propose(i, hist)
		pj, err := json.Marshal(pm)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ncd_trial (study_id, idx, state, params, attempt, worker, lease, heartbeat_at)
			VALUES ($1, $2, 'running', $3, 1, $4, $5, now())`, p.id, i, string(pj), p.opt.Worker, token); err != nil {
			return err
		}
		out = &cv.Lease{Index: i, Params: pm, Attempt: 1, Token: token}
		return nil
	})
	if err == nil && verdict != nil {
		return nil, verdict
	}
	return out, err
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// history returns the finished trials below n, by index.
func history(ctx context.Context, q querier, id int64, n int) ([]cv.Trial, error) {
	rows, err := q.Query(ctx, `SELECT result FROM ncd_trial WHERE study_id = $1 AND idx < $2 AND state IN `+finishedStates+` ORDER BY idx`, id, n)
	if err != nil {
		return nil, err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make([]cv.Trial, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &out[i]); err != nil {
			return nil, fmt.Errorf("bad trial result in the database: %w", err)
		}
	}
	return out, nil
}

// History implements cv.Queue.
func (p *PG) History(ctx context.Context, n int) ([]cv.Trial, error) {
	var out []cv.Trial
	err := p.retry(ctx, "read the history", func(ctx context.Context) error {
		var err error
		out, err = history(ctx, p.pool, p.id, n)
		return err
	})
	return out, err
}

// channel is the study's notification channel: a finished or released
// trial is news for the workers waiting on the Lag rule.
func (p *PG) channel() string { return fmt.Sprintf("ncd_study_%d", p.id) }

// notify tells the waiting workers (best effort: they also poll).
func (p *PG) notify(ctx context.Context) {
	_, _ = p.pool.Exec(ctx, `SELECT pg_notify($1, '')`, p.channel())
}

// Wait implements cv.Waiter: it returns at the study's next notification
// (LISTEN on a connection of its own), or after d. Notifications sent
// while the connection is down are lost: the caller polls anyway.
func (p *PG) Wait(ctx context.Context, d time.Duration) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if p.listener == nil {
		c, err := p.pool.Acquire(wctx)
		if err != nil {
			<-wctx.Done()
			return
		}
		if _, err := c.Exec(wctx, "LISTEN "+p.channel()); err != nil {
			c.Conn().Close(context.Background())
			c.Release()
			<-wctx.Done()
			return
		}
		p.listener = c
	}
	_, err := p.listener.Conn().WaitForNotification(wctx)
	if err != nil && wctx.Err() == nil {
		p.dropListener() // a broken connection: listen again next time
		<-wctx.Done()
	}
}

func (p *PG) dropListener() {
	if p.listener != nil {
		p.listener.Conn().Close(context.Background())
		p.listener.Release()
		p.listener = nil
	}
}

// Heartbeat implements cv.Queue (one attempt: the next tick tries again).
func (p *PG) Heartbeat(ctx context.Context, l *cv.Lease) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tag, err := p.pool.Exec(ctx, `UPDATE ncd_trial SET heartbeat_at = now() WHERE study_id = $1 AND idx = $2 AND lease = $3 AND state = 'running'`,
		p.id, l.Index, l.Token)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		// A late heartbeat from a lost worker: counted with refused results.
		_, _ = p.pool.Exec(ctx, `UPDATE ncd_trial SET refused = refused + 1 WHERE study_id = $1 AND idx = $2`, p.id, l.Index)
		return cv.ErrLeaseLost
	}
	return nil
}

// Finish implements cv.Queue: the result is stored only while the lease is
// the trial's (fencing); a refused result is counted in the row.
func (p *PG) Finish(ctx context.Context, l *cv.Lease, t cv.Trial) error {
	line, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return p.retry(ctx, "store a result", func(ctx context.Context) error {
		tag, err := p.pool.Exec(ctx, `UPDATE ncd_trial SET state = $4, result = $5, acc = $6, finished_at = now()
			WHERE study_id = $1 AND idx = $2 AND lease = $3 AND state = 'running'`,
			p.id, l.Index, l.Token, trialState(&t), string(line), t.ACC)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			p.notify(ctx)
			return nil
		}
		// Stored before a lost connection, or refused?
		var state string
		var owner *string
		if err := p.pool.QueryRow(ctx, `SELECT state, lease FROM ncd_trial WHERE study_id = $1 AND idx = $2`, p.id, l.Index).Scan(&state, &owner); err != nil {
			return err
		}
		if owner != nil && *owner == l.Token && state != StateRunning && state != StateWaiting {
			return nil
		}
		if _, err := p.pool.Exec(ctx, `UPDATE ncd_trial SET refused = refused + 1 WHERE study_id = $1 AND idx = $2`, p.id, l.Index); err != nil {
			return err
		}
		return cv.ErrLeaseLost
	})
}

// Release implements cv.Queue: the trial waits for the next worker (its
// attempt is not counted).
func (p *PG) Release(ctx context.Context, l *cv.Lease) error {
	_, err := p.pool.Exec(ctx, `UPDATE ncd_trial SET state = 'waiting', attempt = greatest(attempt - 1, 0), worker = NULL, lease = NULL, heartbeat_at = NULL
		WHERE study_id = $1 AND idx = $2 AND lease = $3 AND state = 'running'`, p.id, l.Index, l.Token)
	if err == nil {
		p.notify(ctx)
	}
	return err
}

// Snapshot implements Storage.
func (p *PG) Snapshot(ctx context.Context) (*Snapshot, error) {
	var snap *Snapshot
	err := p.retry(ctx, "read the study", func(ctx context.Context) error {
		snap = &Snapshot{}
		var header string
		var cfg *string
		if err := p.pool.QueryRow(ctx, `SELECT header, config, n_trials FROM ncd_study WHERE id = $1`, p.id).Scan(&header, &cfg, &snap.Total); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(header), &snap.Header); err != nil {
			return fmt.Errorf("bad study header in the database: %w", err)
		}
		if cfg != nil {
			snap.Config = json.RawMessage(*cfg)
		}
		rows, err := p.pool.Query(ctx, `SELECT idx, state, params, attempt, coalesce(worker, ''),
			coalesce(extract(epoch FROM now() - heartbeat_at)::float8, 0), result, refused
			FROM ncd_trial WHERE study_id = $1 ORDER BY idx`, p.id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r Row
			var params string
			var result *string
			if err := rows.Scan(&r.Number, &r.State, &params, &r.Attempt, &r.Worker, &r.Heartbeat, &result, &r.Refused); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
				return fmt.Errorf("trial %d: bad params in the database: %w", r.Number, err)
			}
			if result != nil {
				var t cv.Trial
				if err := json.Unmarshal([]byte(*result), &t); err != nil {
					return fmt.Errorf("trial %d: bad result in the database: %w", r.Number, err)
				}
				r.Trial = &t
			}
			snap.Rows = append(snap.Rows, r)
		}
		return rows.Err()
	})
	return snap, err
}

// retry runs fn until it succeeds, fails for a reason other than a lost
// connection, or the connection stays lost for RetryFor (a server restart
// is ridden out: the pool reconnects).
func (p *PG) retry(ctx context.Context, what string, fn func(context.Context) error) error {
	start := time.Now()
	delay := 100 * time.Millisecond
	warned := false
	for {
		err := fn(ctx)
		if err == nil || !transient(err) || ctx.Err() != nil {
			if warned && err == nil && p.opt.Log != nil {
				p.opt.Log(fmt.Sprintf("database connection back after %.1f s", time.Since(start).Seconds()))
			}
			return err
		}
		if time.Since(start) > p.opt.RetryFor {
			return &usererr.Error{Msg: fmt.Sprintf("--storage %s: lost the database for %.0f s while trying to %s: %v", p.desc, time.Since(start).Seconds(), what, err)}
		}
		if !warned && p.opt.Log != nil {
			p.opt.Log(fmt.Sprintf("database connection lost (%v); reconnecting for up to %s", err, p.opt.RetryFor))
		}
		warned = true
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// transient reports a lost or refused connection, a server shutting down
// or starting, or a serialization conflict: worth retrying.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03",
			pe.Code == "40001", pe.Code == "40P01", pe.Code == "53300":
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "conn closed") || strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe") ||
		strings.Contains(s, "unexpected EOF") || strings.Contains(s, "failed to connect")
}
