package session

import (
	"errors"
	"fmt"
)

var (
	// ErrGone: the session was deleted (logout, revoke, expiry) before the
	// change could be applied. The change is dropped; the session stays gone.
	ErrGone = errors.New("session: session no longer exists")
	// ErrMoved: the session was renamed by a concurrent request (a
	// double-submitted login) before this one could rename it. The
	// winner's response carries the session's new cookie; this one should
	// answer as done, without a cookie of its own.
	ErrMoved = errors.New("session: session was renamed meanwhile")
	// ErrExists: a new session's key is already taken.
	ErrExists = errors.New("session: key already exists")
	// ErrLimit: a counter would pass its maximum; nothing was written.
	ErrLimit = errors.New("session: counter limit reached")
	// ErrUnavailable wraps every failure to reach the backend, so callers
	// can answer 503 rather than treat the session as missing.
	ErrUnavailable = errors.New("session: store unavailable")
)

// ConflictError reports fields that another request changed between this
// request's load and its save. Nothing of the delta was written.
type ConflictError struct {
	Fields []string
}

func (e *ConflictError) Error() string {
	return "session: concurrent change of " + joinFields(e.Fields)
}

// Is makes errors.Is(err, ErrConflict) match any *ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ErrConflict matches every *ConflictError with errors.Is.
var ErrConflict = errors.New("session: concurrent change")

func joinFields(fs []string) string {
	out := ""
	for i, f := range fs {
		if i > 0 {
			out += ", "
		}
		out += f
	}
	return out
}

// IsUnavailable tells whether err means the store could not be reached.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

func outcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrConflict):
		return OutcomeConflict
	case errors.Is(err, ErrGone):
		return OutcomeGone
	case errors.Is(err, ErrLimit):
		return OutcomeLimit
	case errors.Is(err, ErrMoved):
		return OutcomeMoved
	default:
		return OutcomeError
	}
}

// storeErr marks a backend failure as ErrUnavailable, leaving the engine's
// own outcomes (gone, conflict, limit, exists) as they are.
func storeErr(op string, err error) error {
	if err == nil || errors.Is(err, ErrGone) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrLimit) || errors.Is(err, ErrExists) || errors.Is(err, ErrMoved) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}
