package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"golang.org/x/term"

	"github.com/ncd-project/ncd/internal/usererr"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// Exit codes of the CLI contract (SPEC.md).
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitThreshold = 3
)

// App holds everything outside the process that commands touch, so tests can
// run whole commands in memory (k6's cmd/state idea).
type App struct {
	Stdin       io.Reader
	Stdout      io.Writer
	Stderr      io.Writer
	StderrIsTTY bool

	// fromConfig maps a path that --config named (resolved against the
	// config file's folder) to "<config>: <key>", so that an error about
	// that file says where the path came from.
	fromConfig map[string]string
}

// NewApp wires the real process streams.
func NewApp() *App {
	return &App{
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		StderrIsTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// exitError carries a specific exit code (e.g. 3 for a failed eval threshold)
// together with the message to print.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// Execute runs the CLI with args and returns the process exit code.
func Execute(app *App, args []string) int {
	root := newRootCmd(app)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	var ue *usererr.Error
	if errors.As(err, &ue) && ue.File != "" {
		if src, ok := app.fromConfig[ue.File]; ok {
			ue.File = src + ": " + ue.File
		}
	}
	fmt.Fprintf(app.Stderr, "ncd: %v\n", err)
	return code
}

func exitCode(err error) int {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case usererr.Is(err):
		return exitUsage
	case isCobraUsageError(err):
		return exitUsage
	default:
		return exitFailure
	}
}

// cobra reports unknown commands and bad arguments as plain errors; they are
// the user's to fix, so they map to exit code 2 as well.
func isCobraUsageError(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "ncd",
		Short: "Novel class discovery for tabular data",
		Long: `ncd finds the classes nobody has labelled yet.

Give it a table where some rows carry a label from the known classes and the
other rows are unlabelled. ncd learns a representation from the known classes
(the PBN model), estimates how many new classes hide in the unlabelled rows,
clusters them, and scores the result.`,
		Version:       versionString(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout) // --help and --version were asked for: stdout, so `ncd fit --help | less` works (errors never print usage)
	root.SetErr(app.Stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usererr.New("%v (see '%s --help')", err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.String("config", "", "YAML config file; keys are long flag names (precedence: flag > NCD_* env > config > default)")
	pf.Uint64("seed", 0, "random seed; the same seed gives the same output whatever --threads is")
	pf.Int("threads", 0, "worker threads (0 = all CPUs)")
	pf.Bool("json", false, "print one JSON object with the results on stdout (human text goes to stderr)")
	pf.Bool("quiet", false, "no progress bars or tables")
	root.CompletionOptions.HiddenDefaultCmd = true

	for _, add := range commands {
		root.AddCommand(add(app))
	}
	return root
}

// commands are the registered subcommand constructors; each cmd_*.go file
// appends its own in init, and a subcommand is only registered once it works.
var commands []func(*App) *cobra.Command

// common holds the flags every command shares.
type common struct {
	Seed    uint64
	Threads int
	JSON    bool
	Quiet   bool
	Start   time.Time // when the command started, for its wall time
}

// loadConfig builds the command's own viper (no global viper): flags bound by
// their long names, NCD_<NAME> environment variables, and the --config file.
// Precedence: flag > env > config file > flag default.
func loadConfig(cmd *cobra.Command, app *App) (*viper.Viper, common, error) {
	start := time.Now()
	v := viper.New()
	v.SetEnvPrefix("NCD")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err := v.BindPFlag(f.Name, f); err != nil && bindErr == nil {
			bindErr = err
		}
	})
	if bindErr != nil {
		return nil, common{}, bindErr
	}
	if path, _ := cmd.Flags().GetString("config"); path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, common{}, &usererr.Error{File: path, Msg: "cannot read config", Err: err}
		}
		for _, key := range v.AllKeys() {
			if cmd.Flags().Lookup(key) == nil {
				fmt.Fprintf(app.Stderr, "ncd: warning: %s: key %q is not a flag of '%s'; ignored\n", path, key, cmd.CommandPath())
			}
		}
		resolveConfigPaths(cmd, app, v, path)
	}
	c := common{
		Seed:    v.GetUint64("seed"),
		Threads: v.GetInt("threads"),
		JSON:    v.GetBool("json"),
		Quiet:   v.GetBool("quiet"),
		Start:   start,
	}
	if c.Threads < 0 {
		return nil, common{}, usererr.New("--threads must be >= 0, got %d", c.Threads)
	}
	if c.Threads == 0 {
		c.Threads = runtime.NumCPU()
	}
	// The BLAS kernels size their worker pools from GOMAXPROCS.
	runtime.GOMAXPROCS(c.Threads)
	return v, c, nil
}

// configPathKeys are the flags that name files. A relative path in a
// config file means a file next to the config, wherever the command is run
// from: 'ncd fit --config runs/best.yaml' reads the data: that tune wrote
// into runs/best.yaml relative to runs/, as a relative link in a web page
// or an include in a Makefile would.
var configPathKeys = []string{"data", "test", "model", "out", "plot", "study", "baseline", "cpuprofile", "report", "run-json"}

// resolveConfigPaths rewrites the file paths that the config file (not a
// flag or an NCD_* variable, whose relative paths mean the working folder)
// sets, relative to the config file's folder, and remembers where each came
// from for error messages.
func resolveConfigPaths(cmd *cobra.Command, app *App, v *viper.Viper, config string) {
	dir := filepath.Dir(config)
	for _, key := range configPathKeys {
		f := cmd.Flags().Lookup(key)
		if f == nil || f.Changed || os.Getenv(envName(key)) != "" || !v.InConfig(key) {
			continue
		}
		val := v.GetString(key)
		if val == "" || val == "-" {
			continue
		}
		if !filepath.IsAbs(val) {
			val = filepath.Join(dir, val)
			v.Set(key, val)
		}
		if app.fromConfig == nil {
			app.fromConfig = map[string]string{}
		}
		app.fromConfig[val] = config + ": " + key
	}
}

// envName is the environment variable that sets flag key (NCD_K_MAX).
func envName(key string) string {
	return "NCD_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// commandBody is a command's work once its configuration is loaded.
type commandBody func(ctx context.Context, cmd *cobra.Command, v *viper.Viper, c common) error

// runE adapts a command body to cobra: it loads the command's configuration,
// cancels the context on Ctrl-C / SIGTERM, and reports an interrupted run
// in one line with exit code 130 (143 for SIGTERM).
func runE(app *App, body commandBody) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		v, c, err := loadConfig(cmd, app)
		if err != nil {
			return err
		}
		if err := checkStdoutOnce(cmd, v, c); err != nil {
			return err
		}
		ctx, stop := signalContext(cmd.Context())
		defer stop()
		return interrupted(ctx, body(ctx, cmd, v, c))
	}
}

// writeJSON prints v as one indented JSON object.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
