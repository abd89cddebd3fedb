package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/cv"
	"github.com/ncd-project/ncd/internal/cv/study"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/usererr"
)

// The storage of a tune's study: a JSON Lines file (default) or a
// PostgreSQL database shared by any number of workers (see study.PG and
// cv.Work).

func addStorageFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("storage", "", "where the study lives: a study file (as --study), or postgres://USER[:PASS]@HOST[:PORT]/DB to share one study (--study NAME) between any number of 'ncd tune' processes on any machines; --trials is then the total of all")
	f.Bool("status", false, "print the study's state (trials complete, running by worker, failed, waiting; leaderboard) and exit (no --data needed; --json for machines)")
	f.String("export", "", "write the study's best configuration (FILE.yaml, as --out) or the study itself (FILE.jsonl, a study file) and exit; any time, also while workers run")
	f.Duration("grace", 60*time.Second, "postgres: a running trial without heartbeat for this long is run again by another worker (give every worker the same)")
	f.Duration("heartbeat", 10*time.Second, "postgres: how often a running trial's worker says it is alive (well below --grace)")
	f.String("worker", "", "postgres: this worker's name in the study (default HOST:PID)")
}

// tuneStorage runs --status, --export and PostgreSQL workers; done is false
// for a tune on a study file, which runTune runs as always.
func tuneStorage(ctx context.Context, app *App, cmd *cobra.Command, v *viper.Viper, c common) (done bool, err error) {
	spec := v.GetString("storage")
	pg := study.IsPostgres(spec)
	status, export := v.GetBool("status"), v.GetString("export")
	if status && export != "" {
		return true, usererr.New("--status and --export are separate runs: give one")
	}
	if !pg && strings.Contains(spec, "://") {
		return true, usererr.New("--storage %s: a study is kept in a study file or in PostgreSQL (postgres://USER[:PASS]@HOST[:PORT]/DB); no other database is supported", study.Redact(spec))
	}
	if !pg && spec != "" && v.GetString("study") != "" && v.GetString("study") != spec {
		return true, usererr.New("--storage %s is a study file and --study names another (%s): give one (--study names a study only in a postgres:// --storage)", spec, v.GetString("study"))
	}
	if !pg && !status && export == "" {
		return false, nil
	}
	var st study.Storage
	name := ""
	if pg {
		name = v.GetString("study")
		if name == "" {
			name = defaultStudyName(v.GetString("out"))
		}
		p, err := openPGStorage(ctx, app, v, c)
		if err != nil {
			return true, err
		}
		defer p.Close()
		if !status && export == "" {
			return true, runTunePG(ctx, app, cmd, v, c, p, name)
		}
		if err := p.Use(ctx, name); err != nil {
			return true, err
		}
		st = p
	} else {
		path := spec
		if path == "" {
			path = v.GetString("study")
		}
		if path == "" {
			path = defaultStudyPath(v.GetString("out"))
		}
		st = study.FileStorage{Path: path}
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return true, &usererr.Error{File: st.Describe(), Msg: "no such study file"}
		}
		return true, err
	}
	if status {
		return true, printStudyStatus(app, c, st.Describe(), snap, v.GetDuration("grace"))
	}
	return true, exportStudy(app, cmd, v, c, snap, export)
}

// defaultStudyName is --out's name without folder and extension.
func defaultStudyName(out string) string {
	if out == "" {
		return "ncd-tune"
	}
	base := filepath.Base(out)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func openPGStorage(ctx context.Context, app *App, v *viper.Viper, c common) (*study.PG, error) {
	grace, hb := v.GetDuration("grace"), v.GetDuration("heartbeat")
	if grace <= 0 || hb <= 0 || hb >= grace {
		return nil, usererr.New("--heartbeat (%s) must be positive and below --grace (%s)", hb, grace)
	}
	return study.OpenPG(ctx, v.GetString("storage"), study.PGOptions{Worker: v.GetString("worker"), Grace: grace, Log: workerLog(app, c)})
}

// workerLog prints a worker's events with the time (nothing with --quiet).
func workerLog(app *App, c common) func(string) {
	return func(s string) {
		if !c.Quiet {
			fmt.Fprintf(app.Stderr, "%s %s\n", time.Now().Format("15:04:05"), s)
		}
	}
}

// bestTemplate is the best configuration without its tuned parameters, as
// the worker that created a study would write it: --export writes it with
// the best trial's parameters without needing the tune's flags.
type bestTemplate struct {
	Method   string   `json:"method"`
	FoldMode string   `json:"fold_mode"`
	K        string   `json:"k"`
	Keys     []string `json:"keys"`
	Vals     []string `json:"vals"` // the data path is absolute
}

func newBestTemplate(cmd *cobra.Command, v *viper.Viper, setup *tuneSetup) bestTemplate {
	keys, vals := bestConfig(cmd, v, setup.method.Name(), nil)
	for i, k := range keys {
		if k == "data" {
			if abs, err := filepath.Abs(v.GetString("data")); err == nil {
				vals[i] = abs
			}
		}
	}
	return bestTemplate{Method: setup.method.Name(), FoldMode: setup.foldMode, K: setup.settings["k"], Keys: keys, Vals: vals}
}

// config returns the keys and values of the configuration with parameters
// p, for a config file written to path.
func (t bestTemplate) config(path string, p cv.Params) ([]string, []string) {
	keys, vals := []string{}, []string{}
	for i, k := range t.Keys {
		val := t.Vals[i]
		if k == "data" {
			val = pathFrom(path, val)
		}
		keys, vals = append(keys, k), append(vals, val)
		if k == "method" {
			for _, name := range rangeFlags {
				if x, ok := p[name]; ok {
					keys, vals = append(keys, name), append(vals, strconv.FormatFloat(x, 'g', -1, 64))
				}
			}
		}
	}
	return keys, vals
}

// runTunePG is a worker of a study in PostgreSQL: it creates or joins the
// study, runs trials until every trial is finished, then writes --out (and
// --plot) from the whole study, as a tune on a file does.
func runTunePG(ctx context.Context, app *App, cmd *cobra.Command, v *viper.Viper, c common, p *study.PG, name string) error {
	if err := checkTuneOutputs(v); err != nil {
		return err
	}
	ds, setup, header, err := loadTuneSetup(app, cmd, v, c)
	if err != nil {
		return err
	}
	tmpl, _ := json.Marshal(newBestTemplate(cmd, v, setup))
	created, total, err := p.Join(ctx, name, header, tmpl, setup.opt.Trials)
	if err != nil {
		return err
	}
	runner, err := cv.NewRunner(ds, setup.opt)
	if err != nil {
		return err
	}
	label := p.Describe()
	if !c.Quiet {
		verb := "joined"
		if created {
			verb = "created"
		}
		fmt.Fprintf(app.Stderr, "%s %s as worker %s: %s, %d trials in all x %d folds (%s), k %s\n  space: %s\n",
			verb, label, p.Worker(), setup.method.Name(), total, len(setup.folds), setup.foldMode, v.GetString("k"), setup.space)
	}
	ran := 0
	err = cv.Work(ctx, runner, p, cv.WorkOptions{Heartbeat: v.GetDuration("heartbeat"), Log: workerLog(app, c), OnTrial: func(cv.Trial) { ran++ }})
	if err != nil {
		if ctx.Err() != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			msg := fmt.Sprintf("this worker finished %d trials of %s; run the same command (on any machine) to continue", ran, label)
			if snap, err := p.Snapshot(rctx); err == nil {
				msg = fmt.Sprintf("%d/%d trials of %s are finished; run the same command (on any machine) to continue", len(snap.Finished()), snap.Total, label)
			}
			return &interruptNote{msg: msg}
		}
		return err
	}
	snap, err := p.Snapshot(ctx)
	if err != nil {
		return err
	}
	res := &cv.Result{Trials: snap.Finished(), Best: -1, Folds: runner.Folds}
	for i := range res.Trials {
		if res.Trials[i].Complete() && (res.Best < 0 || cv.Better(&res.Trials[i], &res.Trials[res.Best])) {
			res.Best = i
		}
	}
	if !c.Quiet {
		fmt.Fprintf(app.Stderr, "%s is finished: %d trials, %d of them run by this worker\n", label, len(res.Trials), ran)
	}
	return reportTune(app, cmd, v, c, setup, res, len(res.Trials)-ran, label)
}

// statusTrial is one trial of --status --json.
type statusTrial struct {
	Number    int            `json:"number"`
	State     string         `json:"state"`
	Params    cv.Params      `json:"params"`
	Scores    []cv.FoldScore `json:"scores"`
	ACC       *float64       `json:"acc,omitempty"`
	Pruned    bool           `json:"pruned,omitempty"`
	Worker    string         `json:"worker,omitempty"`
	Attempt   int            `json:"attempt,omitempty"`
	Heartbeat *float64       `json:"heartbeat_age,omitempty"`
	Refused   int            `json:"refused_results,omitempty"`
	Lost      bool           `json:"worker_lost,omitempty"`
}

type studyStatus struct {
	Storage     string         `json:"storage"`
	Method      string         `json:"method"`
	Total       int            `json:"total"` // 0: a study file (no total recorded)
	Counts      map[string]int `json:"counts"`
	Running     map[string]int `json:"running_by_worker"`
	Trials      []statusTrial  `json:"trials"`
	Best        *cv.Trial      `json:"best"`
	Leaderboard []cv.Trial     `json:"leaderboard"`
}

// studyStatusOf summarizes a snapshot: a running trial without heartbeat
// for grace is waiting (for another worker to run it again); trials not
// created yet are waiting too.
func studyStatusOf(desc string, snap *study.Snapshot, grace time.Duration, top int) studyStatus {
	s := studyStatus{Storage: desc, Method: snap.Header.Settings["method"], Total: snap.Total,
		Counts: map[string]int{"complete": 0, "running": 0, "failed": 0, "waiting": 0, "pruned": 0}, Running: map[string]int{}}
	var finished []cv.Trial
	for _, r := range snap.Rows {
		t := statusTrial{Number: r.Number, State: r.State, Params: r.Params, Worker: r.Worker, Attempt: r.Attempt, Refused: r.Refused, Scores: []cv.FoldScore{}}
		if r.Trial != nil {
			t.Scores = r.Trial.Folds
			acc := r.Trial.ACC
			t.ACC, t.Pruned = &acc, r.Trial.Pruned
			finished = append(finished, *r.Trial)
		}
		if r.State == study.StatePruned {
			t.State = study.StateComplete // a pruned trial is finished (pruned: true)
		}
		if r.State == study.StateRunning {
			hb := r.Heartbeat
			t.Heartbeat = &hb
			if grace > 0 && hb > grace.Seconds() {
				t.State, t.Lost = study.StateWaiting, true
			} else {
				s.Running[r.Worker]++
			}
		}
		s.Counts[t.State]++
		if t.Pruned {
			s.Counts["pruned"]++
		}
		s.Trials = append(s.Trials, t)
	}
	for i := len(snap.Rows); i < snap.Total; i++ {
		s.Trials = append(s.Trials, statusTrial{Number: i, State: study.StateWaiting, Scores: []cv.FoldScore{}})
		s.Counts["waiting"]++
	}
	sort.SliceStable(finished, func(i, j int) bool { return cv.Better(&finished[i], &finished[j]) })
	if len(finished) > 0 && finished[0].Complete() {
		b := finished[0]
		s.Best = &b
	}
	s.Leaderboard = finished[:min(len(finished), max(top, 1))]
	return s
}

func printStudyStatus(app *App, c common, desc string, snap *study.Snapshot, grace time.Duration) error {
	s := studyStatusOf(desc, snap, grace, 10)
	if c.JSON {
		return writeJSON(app.Stdout, s)
	}
	w := app.Stdout
	total := fmt.Sprint(s.Total)
	if s.Total == 0 {
		total = "?"
	}
	fmt.Fprintf(w, "%s, method %s\ntrials: %d/%s finished: %d complete (%d of them pruned), %d failed; %d running, %d waiting\n",
		desc, s.Method, s.Counts["complete"]+s.Counts["failed"], total, s.Counts["complete"], s.Counts["pruned"], s.Counts["failed"], s.Counts["running"], s.Counts["waiting"])
	if len(s.Running) > 0 {
		fmt.Fprintln(w, "running:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  worker\ttrial\tattempt\tlast heartbeat")
		for _, t := range s.Trials {
			if t.State == study.StateRunning {
				fmt.Fprintf(tw, "  %s\t%d\t%d\t%.1f s ago\n", t.Worker, t.Number, t.Attempt, *t.Heartbeat)
			}
		}
		tw.Flush()
	}
	for _, t := range s.Trials {
		if t.Lost {
			fmt.Fprintf(w, "trial %d: worker %s lost (no heartbeat for %.0f s); waiting for another worker to run it again\n", t.Number, t.Worker, *t.Heartbeat)
		}
		if t.Refused > 0 {
			fmt.Fprintf(w, "trial %d: refused %d late heartbeat(s) or result(s) from a worker that had lost it\n", t.Number, t.Refused)
		}
	}
	if len(s.Leaderboard) > 0 {
		var space cv.Space
		_ = json.Unmarshal([]byte(snap.Header.Settings["space"]), &space)
		fmt.Fprintln(w, "leaderboard:")
		printBoard(w, space, s.Leaderboard, false)
	}
	return nil
}

// exportStudy writes the best configuration (.yaml/.yml) or the study as a
// study file (.jsonl) from a snapshot.
func exportStudy(app *App, cmd *cobra.Command, v *viper.Viper, c common, snap *study.Snapshot, path string) error {
	trials := snap.Finished()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".json":
		if _, err := os.Stat(path); err == nil {
			return &usererr.Error{File: path, Msg: "exists; delete it first (an export never overwrites a study file)"}
		}
		w, err := study.Create(path, snap.Header)
		if err != nil {
			return err
		}
		defer w.Close()
		for _, t := range trials {
			if err := w.Add(t); err != nil {
				return err
			}
		}
		if !c.Quiet {
			fmt.Fprintf(app.Stderr, "wrote %d finished trials to %s (continue it with: ncd tune ... --study %s --resume)\n", len(trials), path, path)
		}
		return w.Close()
	case ".yaml", ".yml":
	default:
		return usererr.New("--export %s: give FILE.yaml (the best configuration) or FILE.jsonl (the study)", path)
	}
	best := -1
	for i := range trials {
		if trials[i].Complete() && (best < 0 || cv.Better(&trials[i], &trials[best])) {
			best = i
		}
	}
	if best < 0 {
		return usererr.New("--export: no trial of the study is complete yet (%d finished)", len(trials))
	}
	bt := trials[best]
	method := snap.Header.Settings["method"]
	var keys, vals []string
	var tmpl bestTemplate
	foldMode := ""
	if snap.Config != nil && json.Unmarshal(snap.Config, &tmpl) == nil && len(tmpl.Keys) > 0 {
		keys, vals = tmpl.config(path, bt.Params)
		foldMode = tmpl.FoldMode
	} else {
		// A study file records no template: the command's own flags give
		// the data's roles, and the study's header the fixed settings its
		// trials ran with (epochs, batch-size, ...), which win over this
		// command's flags: their defaults are not what the study used.
		// The k range and rule are in its "scan" setting.
		if u, ok := snap.Header.Settings["unlabel-known"]; ok {
			v.Set("unlabel-known", u)
			v.Set("seed", snap.Header.Settings["seed"])
		}
		if snap.Header.Settings["k"] == "auto" {
			if kMin, kMax, rule, ok := studyScan(snap.Header.Settings["scan"]); ok {
				v.Set("k", "auto")
				v.Set("k-min", kMin)
				v.Set("k-max", kMax)
				v.Set("k-rule", rule)
			}
		}
		keys, vals = bestConfig(cmd, v, method, bt.Params)
		hasData := false
		for i, k := range keys {
			val, ok := snap.Header.Settings[k]
			if k == "n-init" && vals[i] == "0" && val == strconv.Itoa(autoNInit(method)) {
				continue // the header records what 0 (auto) resolved to
			}
			if ok && k != "method" {
				vals[i] = val
			}
			hasData = hasData || k == "data"
		}
		if !hasData && !c.Quiet {
			fmt.Fprintf(app.Stderr, "note: a study file does not record the data: %s has no data or novel classes; give --export the tune's --data and --novel (or add them to it)\n", path)
		}
	}
	if err := writeBestConfig(path, configTarget(app, method), keys, vals, method, foldMode, snap.Header.Settings["k"], &bt, len(trials)); err != nil {
		return err
	}
	if !c.Quiet {
		fmt.Fprintf(app.Stderr, "best of %d finished trials: trial %d, ACC %.4f +- %.4f; written to %s\n", len(trials), bt.Index, bt.ACC, bt.ACCStd, path)
	}
	return nil
}

// studyScan reads the k range and rule back from a study's "scan" setting
// (as tuneOptions writes it: "k 2..30, 3 runs x 10 inits, silhouette" and
// the rule, none for max); ok is false for anything else.
func studyScan(scan string) (kMin, kMax int, rule string, ok bool) {
	head, rest, found := strings.Cut(scan, ", silhouette")
	if !found {
		return 0, 0, "", false
	}
	if _, err := fmt.Sscanf(head, "k %d..%d,", &kMin, &kMax); err != nil {
		return 0, 0, "", false
	}
	rule = estimate.RuleMax
	if rest != "" {
		rule, _, _ = strings.Cut(strings.TrimPrefix(rest, ", "), " (")
	}
	switch rule {
	case estimate.RuleSizes, estimate.RuleStable, estimate.RulePS, estimate.RuleOneSE, estimate.RuleMax:
		return kMin, kMax, rule, true
	}
	return 0, 0, "", false
}
