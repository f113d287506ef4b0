package session

import (
	"strconv"
)

// Delta is a change to one stored session.
type Delta struct {
	// Sets are compare-and-set writes: each applies only when the field
	// still holds Expected ("" meaning absent) or already holds Value.
	Sets []FieldSet
	// Dels are compare-and-delete: each applies when the field still holds
	// Expected, or is already absent.
	Dels []FieldSet
	// Force are unconditional writes (metadata); an empty Value deletes
	// the field.
	Force []FieldSet
	// Incrs add to integer fields atomically.
	Incrs []FieldIncr
	// Touch, when set, stamps last-seen with the store's clock and moves
	// the session's expiry, and its index entry's deadline, to
	// Touch.Expiry.At(now). Without it the expiry stays as it is.
	Touch *Touch
}

// Touch is the refresh of a session's last-seen and expiry.
type Touch struct {
	Expiry
	Index  IndexRef // the session's index (Key "" for none)
	Member string   // its entry there
}

// MaxCounter is the largest magnitude of a counter (and of one increment):
// 2^53-1, the largest integer every store (and Lua's numbers) hold exactly.
// An increment past it, or past its own maximum, fails with ErrLimit.
const MaxCounter = 1<<53 - 1

// Apply applies d to the stored record rec, all or nothing, by the rules
// every store keeps: the compare-and-sets and compare-and-deletes are
// checked first (a *ConflictError names the fields that changed), then the
// counters (ErrLimit past their maximum or MaxCounter), then everything is
// written. It returns the counters' new values. The Redis scripts
// (apply_delta) are the other implementation of these rules, and the
// stores' differential test (package storediff) holds the two to each
// other. The touch is the store's to apply.
func (d Delta) Apply(rec Record) ([]int64, error) {
	var conflicts []string
	for _, s := range d.Sets {
		// a compare-and-set holds when the field is as read, or already set
		if cur := rec[s.Field]; cur != s.Expected && cur != s.Value {
			conflicts = append(conflicts, s.Field)
		}
	}
	for _, s := range d.Dels {
		if cur, ok := rec[s.Field]; ok && cur != s.Expected {
			conflicts = append(conflicts, s.Field)
		}
	}
	if len(conflicts) > 0 {
		return nil, &ConflictError{Fields: conflicts}
	}
	results := make([]int64, len(d.Incrs))
	for i, in := range d.Incrs {
		cur, err := strconv.ParseInt(rec[in.Field], 10, 64)
		if err != nil {
			cur = 0 // absent or not an integer counts as 0
		}
		if cur > MaxCounter || cur < -MaxCounter {
			return nil, ErrLimit
		}
		results[i] = cur + in.By
		if results[i] > in.Limit() || results[i] < -MaxCounter {
			return nil, ErrLimit
		}
	}
	d.ApplyTo(rec, results)
	return results, nil
}

// ApplyTo writes d into rec, as the store did: results are the counters'
// new values (a counter at or below zero is deleted). The touch's stamp is
// the store's and is not applied here.
func (d Delta) ApplyTo(rec Record, results []int64) {
	for _, f := range d.Sets {
		rec[f.Field] = f.Value
	}
	for _, f := range d.Dels {
		delete(rec, f.Field)
	}
	for _, f := range d.Force {
		if f.Value == "" {
			delete(rec, f.Field)
		} else {
			rec[f.Field] = f.Value
		}
	}
	for i, f := range d.Incrs {
		if i < len(results) && results[i] > 0 {
			rec[f.Field] = strconv.FormatInt(results[i], 10)
		} else {
			delete(rec, f.Field)
		}
	}
}

// FieldSet is one field write; Expected is only used by compare-and-set.
type FieldSet struct {
	Field, Expected, Value string
}

// FieldIncr adds By to an integer field. If the result is above Max (at
// most MaxCounter; 0 means MaxCounter) or below -MaxCounter the whole
// delta fails with ErrLimit; if it is at or below zero the field is
// deleted.
type FieldIncr struct {
	Field string
	By    int64
	Max   int64
}

// Limit is the effective maximum of the counter.
func (f FieldIncr) Limit() int64 {
	if f.Max <= 0 || f.Max > MaxCounter {
		return MaxCounter
	}
	return f.Max
}

// Empty tells whether d changes nothing.
func (d Delta) Empty() bool {
	return len(d.Sets) == 0 && len(d.Dels) == 0 && len(d.Force) == 0 &&
		len(d.Incrs) == 0 && d.Touch == nil
}
