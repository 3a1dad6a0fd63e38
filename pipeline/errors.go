package pipeline

import "errors"

// Errors that decide a run's exit code (SPEC §2). Commands wrap them with
// context; cmd/attain maps them to codes with errors.Is.
var (
	// ErrUsage: a bad flag, an invalid catalog or an unreadable directory (exit 2).
	ErrUsage = errors.New("usage or configuration error")
	// ErrRejected: the run finished, but an input file was rejected (exit 3).
	ErrRejected = errors.New("input rejected")
	// ErrLocked: another run holds the warehouse lock (exit 75).
	ErrLocked = errors.New("warehouse locked")
)
