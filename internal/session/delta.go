package session

import (
	"strconv"
	"time"
)

// Delta is a change to one stored session.
type Delta struct {
	// Sets are compare-and-set writes: each applies only when the field
	// still holds Expected ("" meaning absent) or already holds Value.
	Sets []FieldSet
	// Dels are compare-and-delete: each applies when the field still holds
	// Expected, or is already absent.
	Dels []FieldSet
	// Force are unconditional writes (metadata such as last-seen); an empty
	// Value deletes the field.
	Force []FieldSet
	// Incrs add to integer fields atomically.
	Incrs []FieldIncr
	// ExpireAt, when not zero, becomes the session's expiry.
	ExpireAt time.Time
}

// ApplyTo writes d into rec, as the store did: results are the counters'
// new values (a counter at or below zero is deleted). The Redis script is
// the other implementation of the same rule.
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

// FieldIncr adds By to an integer field. If the result is above Max the
// whole delta fails with ErrLimit; if it is at or below zero the field is
// deleted.
type FieldIncr struct {
	Field string
	By    int64
	Max   int64
}

// Empty tells whether d changes nothing.
func (d Delta) Empty() bool {
	return len(d.Sets) == 0 && len(d.Dels) == 0 && len(d.Force) == 0 &&
		len(d.Incrs) == 0 && d.ExpireAt.IsZero()
}
