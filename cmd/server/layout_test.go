package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/redistest"
)

// STORE_LAYOUT decides where new sessions go, and both layouts are read:
// a replica writing layout 2 and one writing layout 1 on one Redis serve
// each other's users; layout 2's keys, index values and limiter values
// carry its name and version.
func TestRunStoreLayouts(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	prefix := redistest.Prefix(t)
	common := []string{"REDIS_URL", rs.URL(), "REDIS_KEY_PREFIX", prefix, "SESSION_SECRET", "layouts-key-0123456789abcdef0123456789"}
	one := startRun(t, append(common, "REPLICA_ID", "one")...)
	two := startRun(t, append(common, "REPLICA_ID", "two", "STORE_LAYOUT", "2")...)

	for _, tc := range []struct {
		name      string
		on, other *server
	}{{"ann", one, two}, {"bob", two, one}} {
		res, c, _ := call(t, "POST", tc.on.url+"/login", "", url.Values{"name": {tc.name}})
		if res.StatusCode != http.StatusSeeOther || c == "" {
			t.Fatalf("login %s: %d", tc.name, res.StatusCode)
		}
		if res, _, _ := call(t, "POST", tc.other.url+"/cart/add", c, url.Values{"item": {"tea"}, "qty": {"2"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: cart add on the other layout's replica: %d", tc.name, res.StatusCode)
		}
		for _, s := range []*server{one, two} {
			res, _, body := call(t, "GET", s.url+"/api/me", c, nil)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, `"cart":{"tea":2}`) {
				t.Errorf("%s on %s: %d %s", tc.name, s.url, res.StatusCode, body)
			}
		}
	}
	ctx := context.Background()
	rdb := rs.Client(t)
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var v1, v2 []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix+"v2:") {
			v2 = append(v2, strings.TrimPrefix(k, prefix))
		} else {
			v1 = append(v1, strings.TrimPrefix(k, prefix))
		}
	}
	t.Logf("layout 1 keys %v; layout 2 keys %v", v1, v2)
	for _, want := range []string{"v2:s:{", "v2:u:{", "v2:login:"} {
		found := false
		for _, k := range v2 {
			found = found || strings.HasPrefix(k, want)
			if strings.HasPrefix(k, "v2:login:") {
				if v := rdb.Get(ctx, prefix+k).Val(); !strings.HasPrefix(v, "2:") {
					t.Errorf("layout 2 limiter value %q lacks its version", v)
				}
			}
			if strings.HasPrefix(k, "v2:u:{") {
				for _, v := range rdb.HVals(ctx, prefix+k).Val() {
					if v[0] != 2 || (len(v)-1)%16 != 0 {
						t.Errorf("layout 2 index value %q: want its version byte, then 16-byte entries", v)
					}
				}
			}
		}
		if !found {
			t.Errorf("no layout 2 key %s*", want)
		}
	}
	for _, want := range []string{"s:{", "u:{", "login:"} {
		found := false
		for _, k := range v1 {
			found = found || strings.HasPrefix(k, want)
		}
		if !found {
			t.Errorf("no layout 1 key %s*", want)
		}
	}
}
