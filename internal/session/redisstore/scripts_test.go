package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
)

// Every reply of every script, through the Go that reads it: each row
// prepares keys, makes one call and checks what the caller gets (the
// result, or the engine's error) and what was reported as foreign. A
// script answer the Go side misreads, or a path no row reaches, shows
// here first.
func TestScriptReplies(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx := context.Background()

	const (
		selA, selB, selC = "AAAAaaaaaaaaaaaa", "AAAAbbbbbbbbbbbb", "AAAAcccccccccccc"
		idle             = time.Hour
	)
	exp := session.Expiry{Idle: idle, Lifetime: 24 * time.Hour, Skew: time.Minute}
	meta := strings.Repeat("\x00", session.MetaStampLen) + strings.Repeat("v", session.MetaLen-session.MetaStampLen)

	type env struct {
		s       *Store
		prefix  string
		foreign *[]string
	}
	key := func(e env, sel string) string { return e.prefix + "s:{" + sel[:4] + "}" + sel[4:] }
	ix := func(e env) session.IndexRef { return session.IndexRef{Key: e.prefix + "u:{00}", Field: "userfld8"} }
	create := func(e env, sel string, fields ...string) {
		rec := session.Record{session.MetaField: meta}
		for i := 0; i+1 < len(fields); i += 2 {
			rec[fields[i]] = fields[i+1]
		}
		if _, err := e.s.Create(ctx, key(e, sel), rec, exp, session.IndexAdd{IndexRef: ix(e), Member: sel, Max: 50}); err != nil {
			t.Fatalf("create %s: %v", sel, err)
		}
	}
	touch := func(e env, sel string) *session.Touch {
		return &session.Touch{Expiry: session.Expiry{Idle: idle, Deadline: time.Now().Add(time.Hour)}, Index: ix(e), Member: sel}
	}
	// forward makes key(from) a forward to key(to), as a rename leaves it.
	forward := func(e env, from, to string) {
		create(e, from)
		if _, err := e.s.Rename(ctx, key(e, from), key(e, to), session.Delta{Touch: touch(e, to)}, session.IndexMove{}); err != nil {
			t.Fatalf("rename %s to %s: %v", from, to, err)
		}
	}
	// chain makes n forwards, each to the next, the last to a session,
	// and returns the first's selector.
	chain := func(e env, n int) string {
		sels := make([]string, n+1)
		for i := range sels {
			sels[i] = fmt.Sprintf("AAAA%012d", i)
		}
		create(e, sels[n])
		for i := range n {
			client.HSet(ctx, key(e, sels[i]), "@m", e.s.marker+rawMember(sels[i+1])+key(e, sels[i+1]))
		}
		return sels[0]
	}
	show := func(v any, err error) string {
		var c *session.ConflictError
		switch {
		case errors.As(err, &c):
			return "conflict " + strings.Join(c.Fields, ",")
		case err != nil:
			for _, known := range []error{session.ErrGone, session.ErrMoved, session.ErrExists, session.ErrLimit} {
				if errors.Is(err, known) {
					return known.Error()
				}
			}
			return "error " + err.Error()
		}
		return fmt.Sprint(v)
	}
	incr := func(field string, by, max int64) session.Delta {
		return session.Delta{Incrs: []session.FieldIncr{{Field: field, By: by, Max: max}}}
	}
	applied := func(a session.Applied, err error) string {
		return show(fmt.Sprintf("counters %v moved %v touched %v", a.Counters, a.Moved, !a.Seen.IsZero()), err)
	}

	for _, tc := range []struct {
		name    string
		layout  session.Layout
		call    func(e env) string
		want    string
		foreign []string
	}{
		// createScript
		{name: "create: ok", call: func(e env) string {
			c, err := e.s.Create(ctx, key(e, selA), session.Record{session.MetaField: meta}, exp, session.IndexAdd{IndexRef: ix(e), Member: selA, Max: 1})
			return show(fmt.Sprintf("stamped %v over %v", !c.At.IsZero(), c.Over), err)
		}, want: "stamped true over []"},
		{name: "create: over the maximum", call: func(e env) string {
			create(e, selB)
			c, err := e.s.Create(ctx, key(e, selA), session.Record{session.MetaField: meta}, exp, session.IndexAdd{IndexRef: ix(e), Member: selA, Max: 1})
			return show(fmt.Sprint(c.Over), err)
		}, want: "[" + selB + "]"},
		{name: "create: over the maximum, ended in the same write", call: func(e env) string {
			forward(e, selB, selC) // a session renamed a moment ago: its forward is followed
			client.HSet(ctx, ix(e).Key, ix(e).Field, e.s.marker+rawMember(selB)+"\xff\xff\xff\xff")
			keys := session.SessionKeys{Prefix: e.prefix + "s:"}
			c, err := e.s.Create(ctx, key(e, selA), session.Record{session.MetaField: meta}, exp,
				session.IndexAdd{IndexRef: ix(e), Member: selA, Max: 1, Sessions: keys})
			entries, _ := e.s.Index(ctx, ix(e))
			left := client.Exists(ctx, key(e, selB), key(e, selC)).Val()
			return show(fmt.Sprintf("over %v, %d listed, %d of the evicted keys left", c.Over, len(entries), left), err)
		}, want: "over [], 1 listed, 0 of the evicted keys left"},
		{name: "create: key taken", call: func(e env) string {
			create(e, selA)
			_, err := e.s.Create(ctx, key(e, selA), session.Record{session.MetaField: meta}, exp, session.IndexAdd{})
			return show(nil, err)
		}, want: session.ErrExists.Error()},
		{name: "create: an index key of another type is replaced", call: func(e env) string {
			client.ZAdd(ctx, ix(e).Key, redis.Z{Score: 1, Member: "x"})
			create(e, selA)
			entries, err := e.s.Index(ctx, ix(e))
			return show(len(entries), err)
		}, want: "1", foreign: []string{"index/type"}},

		// applyScript
		{name: "apply: counters", call: func(e env) string {
			create(e, selA, "n", "2")
			return applied(e.s.Apply(ctx, key(e, selA), incr("n", 3, 10)))
		}, want: "counters [5] moved false touched false"},
		{name: "apply: touched", call: func(e env) string {
			create(e, selA)
			d := incr("n", 1, 10)
			d.Touch = touch(e, selA)
			return applied(e.s.Apply(ctx, key(e, selA), d))
		}, want: "counters [1] moved false touched true"},
		{name: "apply: no session", call: func(e env) string {
			return applied(e.s.Apply(ctx, key(e, selA), incr("n", 1, 10)))
		}, want: session.ErrGone.Error()},
		{name: "apply: a key of another type", call: func(e env) string {
			client.Set(ctx, key(e, selA), "x", 0)
			return applied(e.s.Apply(ctx, key(e, selA), incr("n", 1, 10)))
		}, want: session.ErrGone.Error(), foreign: []string{"session/type"}},
		{name: "apply: conflict", call: func(e env) string {
			create(e, selA, "theme", "dark", "gone", "was")
			d := session.Delta{
				Sets: []session.FieldSet{{Field: "theme", Expected: "light", Value: "blue"}},
				Dels: []session.FieldSet{{Field: "gone", Expected: "other"}},
			}
			return applied(e.s.Apply(ctx, key(e, selA), d))
		}, want: "conflict theme,gone"},
		{name: "apply: limit", call: func(e env) string {
			create(e, selA, "n", "9")
			return applied(e.s.Apply(ctx, key(e, selA), incr("n", 2, 10)))
		}, want: session.ErrLimit.Error()},
		{name: "apply: through a forward", call: func(e env) string {
			forward(e, selA, selB)
			d := incr("n", 4, 10)
			d.Touch = touch(e, selA)
			return applied(e.s.Apply(ctx, key(e, selA), d))
		}, want: "counters [4] moved true touched false"},
		{name: "apply: a forward of another layout's format", layout: session.Layout2, call: func(e env) string {
			client.HSet(ctx, key(e, selA), "@m", selB[:12]+key(e, selB))
			return applied(e.s.Apply(ctx, key(e, selA), incr("n", 1, 10)))
		}, want: session.ErrGone.Error(), foreign: []string{"forward/format"}},
		{name: "apply: MaxForwardHops forwards", call: func(e env) string {
			return applied(e.s.Apply(ctx, key(e, chain(e, session.MaxForwardHops)), incr("n", 1, 10)))
		}, want: "counters [1] moved true touched false"},
		{name: "apply: more forwards than MaxForwardHops", call: func(e env) string {
			return applied(e.s.Apply(ctx, key(e, chain(e, session.MaxForwardHops+1)), incr("n", 1, 10)))
		}, want: session.ErrGone.Error()},

		// renameScript
		{name: "rename: counters and the maximum", call: func(e env) string {
			create(e, selA, "n", "1")
			create(e, selC)
			d := incr("n", 1, 10)
			d.Touch = touch(e, selB)
			a, err := e.s.Rename(ctx, key(e, selA), key(e, selB), d, session.IndexMove{
				Add: session.IndexAdd{IndexRef: ix(e), Member: selB, Max: 1}, Remove: ix(e), RemoveMember: selA})
			return show(fmt.Sprintf("counters %v over %v touched %v", a.Counters, a.Over, !a.Seen.IsZero()), err)
		}, want: "counters [2] over [" + selC + "] touched true"},
		{name: "rename: renamed already", call: func(e env) string {
			forward(e, selA, selB)
			_, err := e.s.Rename(ctx, key(e, selA), key(e, selC), session.Delta{Touch: touch(e, selC)}, session.IndexMove{})
			return show(nil, err)
		}, want: session.ErrMoved.Error()},
		{name: "rename: no session", call: func(e env) string {
			_, err := e.s.Rename(ctx, key(e, selA), key(e, selB), session.Delta{Touch: touch(e, selB)}, session.IndexMove{})
			return show(nil, err)
		}, want: session.ErrGone.Error()},
		{name: "rename: target taken", call: func(e env) string {
			create(e, selA)
			create(e, selB)
			_, err := e.s.Rename(ctx, key(e, selA), key(e, selB), session.Delta{Touch: touch(e, selB)}, session.IndexMove{})
			return show(nil, err)
		}, want: session.ErrExists.Error()},
		{name: "rename: conflict", call: func(e env) string {
			create(e, selA, "theme", "dark")
			d := session.Delta{Sets: []session.FieldSet{{Field: "theme", Expected: "light", Value: "blue"}}, Touch: touch(e, selB)}
			_, err := e.s.Rename(ctx, key(e, selA), key(e, selB), d, session.IndexMove{})
			return show(nil, err)
		}, want: "conflict theme"},
		{name: "rename: limit", call: func(e env) string {
			create(e, selA, "n", "10")
			d := incr("n", 1, 10)
			d.Touch = touch(e, selB)
			_, err := e.s.Rename(ctx, key(e, selA), key(e, selB), d, session.IndexMove{})
			return show(nil, err)
		}, want: session.ErrLimit.Error()},

		// endScript
		{name: "end: a session, and its index entry", call: func(e env) string {
			create(e, selA)
			n, err := e.s.End(ctx, ix(e), session.Target{Key: key(e, selA), Member: selA})
			entries, _ := e.s.Index(ctx, ix(e))
			return show(fmt.Sprintf("ended %d, %d listed", n, len(entries)), err)
		}, want: "ended 1, 0 listed"},
		{name: "end: through a forward", call: func(e env) string {
			forward(e, selA, selB)
			n, err := e.s.End(ctx, ix(e), session.Target{Key: key(e, selA), Member: selA})
			left := client.Exists(ctx, key(e, selA), key(e, selB)).Val()
			return show(fmt.Sprintf("ended %d, %d keys left", n, left), err)
		}, want: "ended 1, 0 keys left"},
		{name: "end: a key of another type is left alone", call: func(e env) string {
			client.Set(ctx, key(e, selA), "x", 0)
			n, err := e.s.End(ctx, ix(e), session.Target{Key: key(e, selA), Member: selA})
			return show(fmt.Sprintf("ended %d, kept %d", n, client.Exists(ctx, key(e, selA)).Val()), err)
		}, want: "ended 0, kept 1", foreign: []string{"session/type"}},

		// ixPutScript and ixDelScript (Redis Cluster's index writes)
		{name: "index put: a touch adds no entry", call: func(e env) string {
			over, err := e.s.ixPut(ctx, session.IndexAdd{IndexRef: ix(e), Member: selA, Max: 1}, exp, "", true)
			return show(fmt.Sprintf("over %v, exists %d", over, client.Exists(ctx, ix(e).Key).Val()), err)
		}, want: "over [], exists 0"},
		{name: "index put: a value of another format is replaced", layout: session.Layout2, call: func(e env) string {
			client.HSet(ctx, ix(e).Key, ix(e).Field, "no marker")
			over, err := e.s.ixPut(ctx, session.IndexAdd{IndexRef: ix(e), Member: selA, Max: 1}, exp, selB, false)
			entries, _ := e.s.Index(ctx, ix(e))
			return show(fmt.Sprintf("over %v, %d listed", over, len(entries)), err)
		}, want: "over [], 1 listed", foreign: []string{"index/format"}},
		{name: "index remove: a key of another type is left alone", call: func(e env) string {
			client.SAdd(ctx, ix(e).Key, "x")
			err := e.s.IndexRemove(ctx, ix(e), selA)
			return show(client.Type(ctx, ix(e).Key).Val(), err)
		}, want: "set", foreign: []string{"index/type"}},
		{name: "index read: a key of another type", call: func(e env) string {
			client.LPush(ctx, ix(e).Key, "x")
			entries, err := e.s.Index(ctx, ix(e))
			return show(len(entries), err)
		}, want: "0", foreign: []string{"index/type"}},
		{name: "index read: a value of another format", layout: session.Layout2, call: func(e env) string {
			client.HSet(ctx, ix(e).Key, ix(e).Field, "no marker")
			entries, err := e.s.Index(ctx, ix(e))
			return show(len(entries), err)
		}, want: "0", foreign: []string{"index/format"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var foreign []string
			s := New(client, OnForeign(func(record, reason string) {
				mu.Lock()
				defer mu.Unlock()
				foreign = append(foreign, record+"/"+reason)
			}))
			l := tc.layout
			if l == 0 {
				l = session.Layout1
			}
			e := env{s: s.WithLayout(l), prefix: redistest.Prefix(t) + l.Namespace(), foreign: &foreign}
			got := tc.call(e)
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(foreign, tc.foreign) {
				t.Errorf("reported foreign %v, want %v", foreign, tc.foreign)
			}
		})
	}
}
