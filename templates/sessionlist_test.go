package templates

import (
	"testing"
	"time"
)

func TestSessionListWords(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	l := &SessionList{Now: now, IdleTimeout: time.Hour, Lifetime: 24 * time.Hour}
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{
		{0, "just now"}, {59 * time.Second, "just now"}, {-10 * time.Second, "just now"},
		{time.Minute, "1 minute ago"}, {5*time.Minute + 59*time.Second, "5 minutes ago"},
		{time.Hour, "1 hour ago"}, {47 * time.Hour, "47 hours ago"}, {72 * time.Hour, "3 days ago"},
	} {
		if got := l.Ago(now.Add(-tc.ago)); got != tc.want {
			t.Errorf("Ago(-%v) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{10 * time.Second, "in less than a minute"}, {5*time.Minute + 40*time.Second, "in 6 minutes"},
		{59*time.Minute + 40*time.Second, "in 1 hour"}, {18*time.Hour + 53*time.Minute, "in 19 hours"}, {72 * time.Hour, "in 3 days"},
	} {
		if got := l.In(now.Add(tc.in)); got != tc.want {
			t.Errorf("In(+%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for d, want := range map[time.Duration]string{
		30 * time.Second: "30 seconds", time.Minute: "1 minute", time.Hour: "1 hour", 90 * time.Minute: "1 hour 30 minutes",
		24 * time.Hour: "24 hours", 7 * 24 * time.Hour: "7 days", 36 * time.Hour: "36 hours",
	} {
		if got := words(d); got != want {
			t.Errorf("words(%v) = %q, want %q", d, got, want)
		}
	}
	used := SessionRow{CreatedAt: now.Add(-time.Hour), LastSeen: now}
	old := SessionRow{CreatedAt: now.Add(-23*time.Hour - 30*time.Minute), LastSeen: now}
	if !l.IdleFirst(used) || l.IdleFirst(old) {
		t.Errorf("IdleFirst: used %v, near its lifetime %v", l.IdleFirst(used), l.IdleFirst(old))
	}
	if got := things(1) + ", " + things(3); got != "1 item, 3 items" {
		t.Errorf("things: %q", got)
	}
}
