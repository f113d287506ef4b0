package redisstore

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// A server that lost the library (restarted without persistence, or a
// node that never had it) gets it again at the next write, which goes
// through: "Function not found" ran nothing.
func TestFunctionsReloadedWhenTheServerLacksThem(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx := context.Background()
	a := sessiontest.NewApp(t, sessiontest.MustManager(t, New(client), redistest.Prefix(t), nil))
	c := a.Login("ann")
	if list := client.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: library.name}).Val(); len(list) != 1 {
		t.Fatalf("library %s not loaded after a login: %v", library.name, list)
	}
	if err := client.FunctionFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if rec, _ := a.Do("POST", "/incr/apples", c); rec.Code != 200 {
			t.Fatalf("add %d after the server lost the library: %d %q", i, rec.Code, rec.Body.String())
		}
	}
	if got := a.Body("GET", "/get/apples", c); got != "3" {
		t.Errorf("apples %q, want 3: each add ran once", got)
	}
	if list := client.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: library.name}).Val(); len(list) != 1 {
		t.Errorf("library not loaded again: %v", list)
	}
}

// A Redis user that may not load functions (FUNCTION refused by its ACL)
// gets the same service through EVALSHA scripts.
func TestScriptsWhenFunctionsAreRefused(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	admin := srv.Client(t)
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "nofn", "reset", "on", ">nofn-password", "~*", "+@all", "-function").Err(); err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "nofn", Password: "nofn-password"})
	t.Cleanup(func() { client.Close() })
	store := New(client)
	a := sessiontest.NewApp(t, sessiontest.MustManager(t, store, redistest.Prefix(t), nil))
	before := redistest.CommandStats(t, admin)
	c := a.Login("ann")
	for range 2 {
		if rec, _ := a.Do("POST", "/incr/apples", c); rec.Code != 200 {
			t.Fatalf("add as a user without FUNCTION: %d %q", rec.Code, rec.Body.String())
		}
	}
	if got := a.Body("GET", "/get/apples", c); got != "2" {
		t.Errorf("apples %q, want 2", got)
	}
	d := redistest.Diff(before, redistest.CommandStats(t, admin))
	if d["fcall"] != 0 || d["evalsha"]+d["eval"] < 3 {
		t.Errorf("commands %v: want the login and adds as scripts, no FCALL", d)
	}
	if store.calls.Load() != callsScripts {
		t.Errorf("the store did not settle on scripts: %d", store.calls.Load())
	}
}
