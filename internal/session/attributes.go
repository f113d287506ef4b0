package session

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The attributes of a session as a request reads and changes them: reads
// come from what was loaded, changes are kept in the session's pending
// changes (see pending in session.go) until the commit writes them.

const flashKey = "_flash"

func attrKey(k any) (string, error) {
	ks, ok := k.(string)
	if !ok {
		return "", fmt.Errorf("session: key of type %T: only string keys are stored", k)
	}
	if ks == "" || strings.HasPrefix(ks, "@") || len(ks) > 256 {
		return "", fmt.Errorf("session: key %q: must be 1-256 bytes and not start with '@'", ks)
	}
	return ks, nil
}

func (s *Session) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// Get returns the value of key as decoded from JSON (string, float64, bool,
// []any, map[string]any), or the Go value given to Set in this request.
func (s *Session) Get(key any) any {
	k, err := attrKey(key)
	if err != nil {
		return nil
	}
	if by, ok := s.incrs[k]; ok {
		return float64(s.intValue(k) + by)
	}
	return s.values[k]
}

// String returns the value of key if it is a string.
func (s *Session) String(key string) string {
	v, _ := s.Get(key).(string)
	return v
}

// Int returns the value of key as an integer (0 if it is not a number).
func (s *Session) Int(key string) int64 {
	if by, ok := s.incrs[key]; ok {
		return s.intValue(key) + by
	}
	return s.intValue(key)
}

func (s *Session) intValue(key string) int64 {
	if enc, ok := s.sets[key]; ok {
		n, _ := strconv.ParseInt(enc, 10, 64)
		return n
	}
	if s.dels[key] {
		return 0
	}
	n, _ := strconv.ParseInt(s.rec[key], 10, 64)
	return n
}

// Keys returns the names of the session's attributes, sorted.
func (s *Session) Keys() []string {
	keys := make([]string, 0, len(s.values)+len(s.incrs))
	for k := range s.values {
		keys = append(keys, k)
	}
	for k := range s.incrs {
		if _, ok := s.values[k]; !ok && s.Int(k) > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Set records key=val, to be written at commit if it differs from the stored
// value. The write is a compare-and-set against the value this request
// loaded: if another request changed it meanwhile, the commit fails with a
// *ConflictError instead of silently overwriting.
func (s *Session) Set(key any, val any) {
	k, err := attrKey(key)
	if err != nil {
		s.fail(err)
		return
	}
	enc, err := json.Marshal(val)
	if err != nil {
		s.fail(fmt.Errorf("session: value of %q: %w", k, err))
		return
	}
	delete(s.dels, k)
	delete(s.incrs, k)
	if cur, ok := s.rec[k]; ok && cur == string(enc) {
		delete(s.sets, k)
	} else {
		if s.sets == nil {
			s.sets = map[string]string{}
		}
		s.sets[k] = string(enc)
	}
	s.values[k] = val
}

// Delete records the removal of key (compare-and-delete, as Set).
func (s *Session) Delete(key any) {
	k, err := attrKey(key)
	if err != nil {
		return
	}
	delete(s.sets, k)
	delete(s.incrs, k)
	delete(s.values, k)
	if _, ok := s.rec[k]; ok {
		if s.dels == nil {
			s.dels = map[string]bool{}
		}
		s.dels[k] = true
	}
}

// Clear deletes every attribute (the owner and metadata stay).
func (s *Session) Clear() {
	for _, k := range s.Keys() {
		s.Delete(k)
	}
}

// Incr adds by to the integer attribute key atomically in the store, so
// concurrent increments on any replica all count. If the result would pass
// max (when max > 0) the commit fails with ErrLimit; at or below zero the
// attribute is removed.
func (s *Session) Incr(key string, by, max int64) {
	k, err := attrKey(key)
	if err != nil {
		s.fail(err)
		return
	}
	if _, ok := s.sets[k]; ok {
		s.fail(fmt.Errorf("session: Incr of %q after Set in the same request", k))
		return
	}
	if by > MaxCounter || by < -MaxCounter {
		s.fail(fmt.Errorf("session: Incr of %q by %d: %w (at most %d either way)", k, by, ErrLimit, int64(MaxCounter)))
		return
	}
	if s.incrs == nil {
		s.incrs, s.incrMax = map[string]int64{}, map[string]int64{}
	}
	s.incrs[k] += by
	s.incrMax[k] = max
}

// AddFlash appends a flash message (default key "_flash").
func (s *Session) AddFlash(value any, vars ...string) {
	k := flashKey
	if len(vars) > 0 {
		k = vars[0]
	}
	list, _ := s.Get(k).([]any)
	s.Set(k, append(slices.Clone(list), value))
}

// Flashes returns and removes the flash messages (default key "_flash").
func (s *Session) Flashes(vars ...string) []any {
	k := flashKey
	if len(vars) > 0 {
		k = vars[0]
	}
	list, _ := s.Get(k).([]any)
	if list != nil {
		s.Delete(k)
	}
	return list
}

// delta is the change the pending edits make to rec, the record as it was
// loaded: compare-and-set writes and deletes against the values read, and
// atomic increments.
func (p *pending) delta(rec Record) Delta {
	var d Delta
	for k, v := range p.sets {
		d.Sets = append(d.Sets, FieldSet{Field: k, Expected: rec[k], Value: v})
	}
	for k := range p.dels {
		d.Dels = append(d.Dels, FieldSet{Field: k, Expected: rec[k]})
	}
	for k, by := range p.incrs {
		d.Incrs = append(d.Incrs, FieldIncr{Field: k, By: by, Max: p.incrMax[k]})
	}
	return d
}

// attributes are the fields a new session starts with: what the request
// set, and its increments (ErrLimit past their maximum).
func (p *pending) attributes() (Record, error) {
	rec := Record{}
	for k, v := range p.sets {
		rec[k] = v
	}
	for k, by := range p.incrs {
		in := FieldIncr{Field: k, By: by, Max: p.incrMax[k]}
		if by > in.Limit() {
			return nil, ErrLimit
		}
		if by > 0 {
			rec[k] = strconv.FormatInt(by, 10)
		}
	}
	return rec, nil
}
