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

// The outcomes of operations. A load's outcome says why a cookie was not
// taken: malformed, unverified (well-formed, but signed by no key of this
// replica: tampered with, or signed by a key this replica lacks — the
// cookie is kept then, another replica may know the key), missing (signed,
// but no such session), mismatch (the session exists, the verifier does
// not match), expired (by this replica's clock, beyond the tolerated
// skew: the cookie is kept and nothing is deleted) or unreadable (stored
// in a form this release does not read, by another release: the cookie
// is kept).
const (
	OutcomeOK         Outcome = iota // done
	OutcomeError                     // the store failed (the caller answers 503)
	OutcomeConflict                  // a compare-and-set lost to a concurrent change
	OutcomeGone                      // the session ended meanwhile
	OutcomeLimit                     // a counter would pass its maximum
	OutcomeMissing                   // the cookie names no stored session
	OutcomeExpired                   // the session had expired by this replica's clock
	OutcomeMalformed                 // the cookie is not a token
	OutcomeUnverified                // the cookie's signature matches no key of this replica
	OutcomeMismatch                  // the cookie's verifier does not match the session's
	OutcomeMoved                     // a concurrent login had already renamed the session
	OutcomeSkipped                   // a request used its session and wrote nothing
	OutcomeUnreadable                // the session is stored in a form this release does not read
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "error", "conflict", "gone", "limit", "missing", "expired",
	"malformed", "unverified", "mismatch", "moved", "skipped", "unreadable"}

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
