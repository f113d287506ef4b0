package userdata

// Store is what the user's data needs from a session: the request's view
// of it, whose changes are recorded and written when the session is
// committed. *session.Session is one.
type Store interface {
	// Keys are the names of the session's fields, sorted.
	Keys() []string
	// String is the field's value if it is a string, else "".
	String(key string) string
	// Int is the field's value if it is a number, else 0.
	Int(key string) int64
	// Set writes a value, compare-and-set against the value loaded.
	Set(key any, val any)
	// Delete removes a field, compare-and-delete as Set.
	Delete(key any)
	// Incr adds by atomically in the store; a result over max (when max
	// > 0) refuses the whole commit, one at or below zero removes the field.
	Incr(key string, by, max int64)
	// AddFlash appends a one-shot message under the key vars[0].
	AddFlash(value any, vars ...string)
	// Flashes returns and removes the messages under the key vars[0].
	Flashes(vars ...string) []any
}

// Data is the user's data in one session.
type Data struct {
	st Store
}

// Of is the user's data kept in st.
func Of(st Store) Data { return Data{st: st} }

// Snapshot is the user's data as pages and the API show it. Its JSON is
// the "theme" and "cart" of /api/me.
type Snapshot struct {
	Theme Theme `json:"theme"`
	Cart  Cart  `json:"cart"`
}

// Snapshot reads the user's data as loaded (with this request's changes).
func (d Data) Snapshot() Snapshot {
	return Snapshot{Theme: d.Theme(), Cart: d.Cart()}
}
