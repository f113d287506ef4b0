package userdata

import "fmt"

// Code says what kind of refusal an Error is.
type Code int

const (
	// Invalid: the input breaks a rule (empty, too long, not a number...).
	Invalid Code = iota + 1
	// OverLimit: the input is fine, but the change would pass a limit of
	// the user's data (a full cart, too many of one item).
	OverLimit
)

// Error is a refused input or change. Its message is safe to show the user
// and says how to put it right; nothing was changed.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Invalidf is an Invalid error with a formatted message.
func Invalidf(format string, args ...any) error {
	return &Error{Code: Invalid, Message: fmt.Sprintf(format, args...)}
}

func overLimitf(format string, args ...any) error {
	return &Error{Code: OverLimit, Message: fmt.Sprintf(format, args...)}
}
