package session

// Op names an engine operation, for the Observer (metrics). Every Op and
// Outcome is listed once, here; Ops and Outcomes give them all, so
// metrics can export every pair from the start.
type Op uint8

// The engine's operations.
const (
	OpLoad       Op = iota // read a request's session
	OpCreate               // store a new session
	OpSave                 // write a change
	OpTouch                // refresh last-seen and the expiry only
	OpRegenerate           // give a session a new id (login)
	OpDestroy              // delete a session (logout)
	OpRevoke               // end sessions of a user by id or all
	OpList                 // list a user's sessions
	numOps
)

var opNames = [numOps]string{"load", "create", "save", "touch", "regenerate", "destroy", "revoke", "list"}

func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "unknown"
}

// Ops returns every Op, in order.
func Ops() []Op {
	out := make([]Op, numOps)
	for i := range out {
		out[i] = Op(i)
	}
	return out
}

// Outcome is how an operation ended.
type Outcome uint8

// The outcomes of operations.
const (
	OutcomeOK       Outcome = iota // done
	OutcomeError                   // the store failed (the caller answers 503)
	OutcomeConflict                // a compare-and-set lost to a concurrent change
	OutcomeGone                    // the session ended meanwhile
	OutcomeLimit                   // a counter would pass its maximum
	OutcomeMissing                 // the cookie names no stored session
	OutcomeExpired                 // the session had expired
	OutcomeInvalid                 // the cookie is malformed or not signed by a known key
	OutcomeSkipped                 // a request used its session and wrote nothing
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "error", "conflict", "gone", "limit", "missing", "expired", "invalid", "skipped"}

func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "unknown"
}

// Outcomes returns every Outcome, in order.
func Outcomes() []Outcome {
	out := make([]Outcome, numOutcomes)
	for i := range out {
		out[i] = Outcome(i)
	}
	return out
}
