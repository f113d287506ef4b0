package templates

import (
	"fmt"
	"strings"
	"time"
)

// SessionList is the sessions page's list, with what its wording needs:
// the time of the request and the server's session timeouts.
type SessionList struct {
	Rows        []SessionRow // this session first
	Now         time.Time
	IdleTimeout time.Duration
	Lifetime    time.Duration
}

// SessionRow is one session on the sessions page.
type SessionRow struct {
	ID        string
	Device    string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // the earlier of the idle and the absolute end
	Current   bool
}

// Ago is t relative to the request: "just now", "5 minutes ago",
// "3 hours ago", "2 days ago".
func (l *SessionList) Ago(t time.Time) string {
	d := l.Now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return count(int(d/time.Minute), "minute", "minutes") + " ago"
	case d < 48*time.Hour:
		return count(int(d/time.Hour), "hour", "hours") + " ago"
	}
	return count(int(d/(24*time.Hour)), "day", "days") + " ago"
}

// In is t ahead of the request, to the nearest unit: "in 5 minutes",
// "in 19 hours".
func (l *SessionList) In(t time.Time) string {
	d := t.Sub(l.Now)
	near := func(unit time.Duration) int { return int((d + unit/2) / unit) }
	switch {
	case d < time.Minute:
		return "in less than a minute"
	case d < time.Hour-30*time.Second:
		return "in " + count(near(time.Minute), "minute", "minutes")
	case d < 48*time.Hour-30*time.Minute:
		return "in " + count(near(time.Hour), "hour", "hours")
	}
	return "in " + count(near(24*time.Hour), "day", "days")
}

// IdleFirst tells whether r will end by disuse before it reaches the
// lifetime's limit (the usual case): then the page says how long without
// use ends it, and when it ends at the latest.
func (l *SessionList) IdleFirst(r SessionRow) bool {
	return r.LastSeen.Add(l.IdleTimeout).Before(l.Latest(r))
}

// Latest is when r ends even if it is in use all along.
func (l *SessionList) Latest(r SessionRow) time.Time { return r.CreatedAt.Add(l.Lifetime) }

// Idle is the idle timeout in words ("1 hour").
func (l *SessionList) Idle() string { return words(l.IdleTimeout) }

// Life is the lifetime in words ("24 hours").
func (l *SessionList) Life() string { return words(l.Lifetime) }

// words says a duration as people do: "1 hour", "90 minutes" stays
// "1 hour 30 minutes", "7 days"; seconds only below a minute.
func words(d time.Duration) string {
	if d < time.Minute {
		return count(int(d/time.Second), "second", "seconds")
	}
	var parts []string
	if days := int(d / (24 * time.Hour)); days >= 2 && d%(24*time.Hour) == 0 {
		return count(days, "day", "days")
	}
	if h := int(d / time.Hour); h > 0 {
		parts = append(parts, count(h, "hour", "hours"))
	}
	if m := int(d % time.Hour / time.Minute); m > 0 {
		parts = append(parts, count(m, "minute", "minutes"))
	}
	return strings.Join(parts, " ")
}

// exact is a time as the page prints it in full: "3 Jan 2026, 03:04 UTC".
func exact(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

// things is a number of things in the cart: "1 item", "3 items".
func things(n int64) string { return count(int(n), "item", "items") }

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
