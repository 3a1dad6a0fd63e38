package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Lock is one of the warehouse's locks: an flock(2) on a file in the
// warehouse, so a killed run releases it with its process. The file holds a
// line naming the (last) holder, for the run that finds it taken.
//
// The warehouse lock (LockFile) is held alone by ingest, report, and compute
// and backfill without --shard; shard processes share it, and each also holds
// its own shard's lock alone (SPEC §7.1). `run --shard` lands the inbox under
// the ingest lock, which the pods of one run take one after the other.
//
// The warehouse lock is an flock of the warehouse directory itself, which a
// run cannot have unlinked from under it (a lock file deleted under a running
// job let a second one start beside it); its file only names the holder. The
// other locks are flocks of their files.
type Lock struct {
	f      *os.File // what is flocked: the directory, or the lock file
	holder *os.File // the file that names the holder (f itself for a file lock)
	path   string
	shared bool
}

// LockFile is the warehouse lock's name inside the warehouse.
const LockFile = "attain.lock"

// IngestLockFile is the lock the pods of a sharded run land the inbox under.
const IngestLockFile = "attain-ingest.lock"

// ShardLockFile is the name of shard s's lock inside the warehouse.
func ShardLockFile(s Shard) string {
	return fmt.Sprintf("attain-shard-%d-of-%d.lock", s.Index, s.Count)
}

// LockMode says how a lock is taken.
type LockMode struct {
	Shared bool // with other shared holders (else alone)
	Wait   bool // until it is free (else fail at once with ErrLocked)
}

// AcquireLock takes the warehouse lock of dir alone without waiting. When
// another process holds it, the error wraps ErrLocked and names the holder.
func AcquireLock(dir, holder string) (*Lock, error) {
	return Acquire(context.Background(), dir, LockFile, holder, LockMode{})
}

// Acquire takes the lock file name of warehouse dir in the given mode. When it
// is taken and mode.Wait is false, the error wraps ErrLocked and names the
// holder; waiting ends with ctx.
func Acquire(ctx context.Context, dir, name, holder string, mode LockMode) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: warehouse %s: %v", ErrUsage, dir, err)
	}
	path := filepath.Join(dir, name)
	holderFile, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: lock %s: %v", ErrUsage, path, err)
	}
	f := holderFile
	if name == LockFile {
		if f, err = os.Open(dir); err != nil {
			holderFile.Close()
			return nil, fmt.Errorf("%w: lock %s: %v", ErrUsage, dir, err)
		}
	}
	closeAll := func() {
		if f != holderFile {
			f.Close()
		}
		holderFile.Close()
	}
	how := syscall.LOCK_EX
	if mode.Shared {
		how = syscall.LOCK_SH
	}
	for {
		err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || !mode.Wait {
			break
		}
		// Polled, not blocking in flock(2): a signal must still end the wait.
		select {
		case <-ctx.Done():
			closeAll()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err != nil {
		b, _ := os.ReadFile(path)
		closeAll()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(b))
			if who == "" {
				who = "an unknown process"
			}
			return nil, fmt.Errorf("%w: %s is held by %s", ErrLocked, path, who)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := holderFile.Truncate(0); err == nil {
		holderFile.WriteAt([]byte(holder+"\n"), 0)
		holderFile.Sync()
	}
	return &Lock{f: f, holder: holderFile, path: path, shared: mode.Shared}, nil
}

// ErrLockLost means the lock file was removed (or replaced) while held: another
// process may have taken a new one, so this one must stop writing.
var ErrLockLost = errors.New("the lock file was removed while this process held it")

// Held says whether the lock's path still names the file this process locked.
// A lock file deleted under a running job lets a second one start beside it;
// the first finds out here, before its next write, and stops.
func (l *Lock) Held() error {
	if l == nil || l.f == nil || l.f != l.holder {
		return nil // a directory's flock cannot be unlinked from under it
	}
	mine, err := l.f.Stat()
	if err != nil {
		return err
	}
	if named, err := os.Stat(l.path); err != nil || !os.SameFile(mine, named) {
		return fmt.Errorf("%w: %s", ErrLockLost, l.path)
	}
	return nil
}

// Release lets the next run in. A lock held alone clears its holder line first
// so that a reader never names a process that has gone (a shared one leaves
// it: other holders may remain).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	if !l.shared {
		l.holder.Truncate(0)
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if l.holder != l.f {
		l.holder.Close()
	}
	l.f = nil
	return err
}
