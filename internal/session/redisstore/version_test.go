package redisstore

import (
	"context"
	"testing"

	"github.com/sessiond/sessiond/internal/redistest"
)

// The version check against the real server (Debian's 7.0) passes, and
// reads what HELLO reports; the comparison refuses what is older.
func TestCheckVersion(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	if err := CheckVersion(ctx, c); err != nil {
		t.Fatalf("a Redis %s server: %v", MinVersion, err)
	}
	v, err := serverVersion(ctx, c)
	if err != nil || older(v, MinVersion) {
		t.Fatalf("server version %q (%v)", v, err)
	}
	for _, tc := range []struct {
		a, b  string
		older bool
	}{
		{"6.2.14", "7.0.0", true}, {"7.0.0", "7.0.0", false}, {"7.0.15", "7.0.0", false},
		{"7.2", "7.0.0", false}, {"5.0.7", "7.0.0", true}, {"10.0.1", "7.0.0", false},
	} {
		if got := older(tc.a, tc.b); got != tc.older {
			t.Errorf("older(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
