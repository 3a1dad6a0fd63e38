package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"attain/pipeline"
)

// command is one subcommand: its own flags, its own run.
type command interface {
	// flags registers the command's own flags on fs.
	flags(fs *flag.FlagSet, cfg *pipeline.Config)
	run(ctx context.Context, e *env) error
}

type commandInfo struct {
	name, args, summary string
	new                 func() command
	common              []string // the common flags it uses; nil: all of them
}

var commands = []commandInfo{
	{"run", "[--as-of D] [--shards N | --shard i/N]", "the nightly job: ingest, compute, report for D", func() command { return &runCmd{} }, nil},
	{"ingest", "[--as-of D]", "land every new inbox file delivered on or before D", func() command { return &ingestCmd{} },
		[]string{"inbox", "warehouse", "log-format", "threads", "max-bad-fraction"}},
	{"gen", "--out DIR [--orgs N] [--from A] [--to B] [--seed S]", "write a deterministic synthetic inbox", func() command { return &genCmd{} },
		[]string{"log-format"}},
	{"compute", "--as-of D [--shards N | --shard i/N]", "compute the result tables for D from landed data", func() command { return &computeCmd{} },
		[]string{"warehouse", "catalog", "memory-limit", "threads", "log-format"}},
	{"report", "--as-of D", "write the workbook and CSV files for D from the results", func() command { return &reportCmd{} },
		[]string{"warehouse", "reports", "memory-limit", "threads", "log-format"}},
	{"backfill", "--from A --to B [--every day|week|month] [--report-every day|week|month|none] [--force] [--as-known] [--batch N] [--shards N | --shard i/N]",
		"results (as history) and reports for every date in [A, B]",
		func() command { return &backfillCmd{} }, []string{"warehouse", "reports", "catalog", "memory-limit", "threads", "log-format"}},
	{"catalog check", "FILE", "validate a catalog file or directory", func() command { return &catalogCheckCmd{} }, []string{}},
	{"catalog show", "[--as-of D]", "print the catalog version in force", func() command { return &catalogShowCmd{} }, []string{"catalog"}},
	{"status", "", "what is landed (deliveries, rows, quarantine) and the last runs", func() command { return &statusCmd{} }, []string{"warehouse"}},
	{"version", "", "the program version, the DuckDB version and the default catalog's version", func() command { return &versionCmd{} }, []string{}},
}

// env is what a running command gets: the validated configuration, output
// streams and a logger.
type env struct {
	cfg            pipeline.Config
	stdout, stderr io.Writer
	log            *slog.Logger
	tty            bool           // stderr is a terminal: text logs, progress bars
	lock           *pipeline.Lock // the warehouse lock, once taken
	console        *console       // stderr on a terminal (logs and progress bars); nil otherwise
}

// run is the whole program behind main, so tests drive the same entry point.
// It returns the exit code of SPEC §2.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Error: no command given\n\n")
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout) // asked for: standard output, exit 0
		return 0
	case "--version", "-version":
		args = append([]string{"version"}, args[1:]...)
	}
	name := args[0]
	if name == "catalog" {
		if len(args) == 1 || strings.HasPrefix(args[1], "-") {
			if len(args) > 1 && (args[1] == "-h" || args[1] == "--help" || args[1] == "-help") {
				groupUsage(stdout, "catalog") // asked for: standard output, exit 0
				return 0
			}
			fmt.Fprintf(stderr, "Error: attain catalog needs a subcommand: check or show\n\n")
			groupUsage(stderr, "catalog")
			return 2
		}
		name, args = "catalog "+args[1], args[1:]
	}
	var info *commandInfo
	for i := range commands {
		if commands[i].name == name {
			info = &commands[i]
		}
	}
	if info == nil {
		fmt.Fprintf(stderr, "Error: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	cmd := info.new()
	cfg := pipeline.DefaultConfig()
	fs := flag.NewFlagSet("attain "+info.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the usage is printed here, where it is asked for
	fs.Usage = func() {}
	commonFlags(fs, &cfg)
	cmd.flags(fs, &cfg)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(stdout, info, fs)
			return 0
		}
		fmt.Fprintf(stderr, "Error: %v\nRun 'attain %s --help' for its flags.\n", err, info.name)
		return 2
	}
	if err := applyEnv(fs, os.Environ()); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 && !acceptsArgs(cmd) {
		fmt.Fprintf(stderr, "Error: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	e := &env{cfg: cfg, stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}
	logTo := stderr
	if e.tty {
		e.console = &console{w: stderr}
		logTo = e.console
	}
	e.log = newLogger(logTo, cfg.LogFormat, e.tty)
	if a, ok := cmd.(interface{ setArgs([]string) }); ok {
		a.setArgs(fs.Args())
	}
	err := cmd.run(ctx, e)
	code := exitCode(ctx, err)
	var sig signalError
	switch {
	case err != nil && code != 0 && errors.As(context.Cause(ctx), &sig):
		// not DuckDB's "INTERRUPT Error: Interrupted!" of the query it stopped
		fmt.Fprintf(stderr, "Error: %v; the earlier results and reports are as they were\n", sig)
	case err != nil && code != 0:
		fmt.Fprintf(stderr, "Error: %v\n", err)
	}
	return code
}

func acceptsArgs(c command) bool {
	_, ok := c.(interface{ setArgs([]string) })
	return ok
}

// exitCode maps an error onto SPEC §2's exit codes.
func exitCode(ctx context.Context, err error) int {
	var sig signalError
	switch {
	case err == nil:
		return 0
	case errors.As(context.Cause(ctx), &sig) && ctx.Err() != nil:
		return 128 + int(sig.sig)
	case errors.Is(err, pipeline.ErrUsage):
		return 2
	case errors.Is(err, pipeline.ErrLocked):
		return 75
	case errors.Is(err, pipeline.ErrRejected):
		return 3
	}
	return 1
}

// commandUsage prints a command's usage and its flags, as --name (the form the
// README uses; Go's flag package accepts one dash or two).
func commandUsage(w io.Writer, info *commandInfo, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: attain %s %s\n\n%s.\n", info.name, info.args, capitalize(info.summary))
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if info.common == nil || slices.Contains(info.common, f.Name) || !slices.Contains(commonNames, f.Name) {
			flags = append(flags, f)
		}
	})
	if len(flags) == 0 {
		return
	}
	fmt.Fprintf(w, "\nFlags (also as ATTAIN_<FLAG> in the environment; a flag beats the environment):\n")
	for _, f := range flags {
		name, help := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			help += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, help)
	}
}

// commonNames are the common flags' names, as commonFlags registers them.
var commonNames = []string{"inbox", "warehouse", "reports", "catalog", "memory-limit", "threads", "log-format",
	"metrics-file", "pushgateway", "max-bad-fraction"}

// groupUsage prints the commands of a group (attain catalog check, show).
func groupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage: attain %s <command> [flags]\n\nCommands:\n", group)
	for _, c := range commands {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			fmt.Fprintf(w, "  %-8s %-14s %s\n", sub, c.args, c.summary)
		}
	}
	fmt.Fprintf(w, "\nRun 'attain %s <command> --help' for a command's flags.\n", group)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "attain — the nightly competency attainment job\n\nUsage: attain <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'attain <command> --help' for a command's flags.\n")
}

// commonFlags are the flags of SPEC §2, which every command accepts (scripts
// pass them alike); a command's --help lists only those it uses.
func commonFlags(fs *flag.FlagSet, c *pipeline.Config) {
	add := func(_ string, def func()) { def() }
	add("inbox", func() { fs.StringVar(&c.Inbox, "inbox", c.Inbox, "inbox `dir` of feed deliveries") })
	add("warehouse", func() {
		fs.StringVar(&c.Warehouse, "warehouse", c.Warehouse, "warehouse `dir` (landed data, results, logs)")
	})
	add("reports", func() { fs.StringVar(&c.Reports, "reports", c.Reports, "reports `dir`") })
	add("catalog", func() {
		fs.StringVar(&c.Catalog, "catalog", c.Catalog, "catalog YAML `path` (a file or a directory); default: the embedded catalog")
	})
	add("memory-limit", func() { fs.StringVar(&c.MemoryLimit, "memory-limit", c.MemoryLimit, "DuckDB memory `limit`") })
	add("threads", func() { fs.IntVar(&c.Threads, "threads", c.Threads, "DuckDB threads") })
	add("log-format", func() {
		fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log `format`: text or json (default: text on a terminal, json otherwise)")
	})
	add("metrics-file", func() {
		fs.StringVar(&c.MetricsFile, "metrics-file", c.MetricsFile, "write Prometheus metrics to this `path`")
	})
	add("pushgateway", func() {
		fs.StringVar(&c.Pushgateway, "pushgateway", c.Pushgateway, "push Prometheus metrics to this Pushgateway `url`")
	})
	add("max-bad-fraction", func() {
		fs.Float64Var(&c.MaxBadFraction, "max-bad-fraction", c.MaxBadFraction, "reject a file whose share of bad rows exceeds this `share`")
	})
}

// applyEnv sets every flag not given on the command line from ATTAIN_<FLAG>.
func applyEnv(fs *flag.FlagSet, environ []string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	vars := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "ATTAIN_") {
			vars[k] = v
		}
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, name := range names {
		key := "ATTAIN_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if v, ok := vars[key]; ok && !given[name] {
			if err := fs.Set(name, v); err != nil {
				if errors.Is(err, strconv.ErrSyntax) || strings.Contains(err.Error(), "parse error") {
					err = errors.New("not a number")
				}
				return fmt.Errorf("%w: %s=%q: not a value for --%s: %v", pipeline.ErrUsage, key, v, name, err)
			}
		}
	}
	return nil
}

func newLogger(w io.Writer, format string, tty bool) *slog.Logger {
	if format == "" {
		format = "json"
		if tty {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if os.Getenv("ATTAIN_DEBUG") != "" {
		opts.Level = slog.LevelDebug
	}
	if format == "text" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05"))
			}
			if len(groups) == 0 && a.Key == slog.LevelKey && a.Value.Any() == slog.LevelInfo {
				return slog.Attr{} // a line says its level when it is not INFO
			}
			return a
		}
		return slog.New(terseHandler{slog.NewTextHandler(w, opts)})
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// terseHandler shortens the text log for a person at a terminal of 100
// columns (the JSON logs keep every field): "ingest end" for "stage end"
// stage=ingest; no run id, no path or date said on another line, no counts
// of every table or of files at 0; files_landed is landed, rows_landed
// landed; durations to a tenth of a second.
type terseHandler struct{ slog.Handler }

func (h terseHandler) Handle(ctx context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "stage" && (msg == "stage start" || msg == "stage end") {
			msg = a.Value.String() + strings.TrimPrefix(msg, "stage") // "stage end", stage=ingest: "ingest end"
		}
		return true
	})
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		switch k := a.Key; {
		case k == "run_id", k == "dir", k == "workbook" && r.Message == "run end", strings.HasSuffix(k, "_rows"):
		case k == "stage" && msg != r.Message:
		case k == "as_of" && (r.Message == "stage end" || r.Message == "run end"):
		case strings.HasPrefix(k, "files_") && k != "files_landed" && a.Value.String() == "0":
		case k == "duration":
			if d, err := time.ParseDuration(a.Value.String()); err == nil {
				a.Value = slog.StringValue(d.Round(100 * time.Millisecond).String())
			}
			out.AddAttrs(a)
		case strings.HasPrefix(k, "files_"), strings.HasPrefix(k, "rows_"):
			a.Key = k[strings.IndexByte(k, '_')+1:]
			out.AddAttrs(a)
		default:
			out.AddAttrs(a)
		}
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h terseHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return terseHandler{h.Handler.WithAttrs(as)}
}
func (h terseHandler) WithGroup(g string) slog.Handler { return terseHandler{h.Handler.WithGroup(g)} }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// signalError is the cause of a context cancelled by SIGINT or SIGTERM.
type signalError struct{ sig syscall.Signal }

func (s signalError) Error() string { return "stopped by " + s.sig.String() }

// signalContext is cancelled, with a signalError cause, on SIGINT or SIGTERM.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			cancel(signalError{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}
