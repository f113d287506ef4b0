package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Memory is a target's Redis memory per logged-in session, in one of two
// cases: every login a new name (the realistic case), or every login the
// same name.
type Memory struct {
	Target string `json:"target"`
	// Names is "each" (a name per login) or "one" (one name for all).
	Names  string `json:"names"`
	Logins int    `json:"logins"`
	// UsedMemoryDelta is the growth of used_memory less that of
	// mem_clients_normal (ClientMemDelta, the connections' buffers).
	UsedMemoryDelta int64   `json:"used_memory_delta"`
	ClientMemDelta  int64   `json:"mem_clients_normal_delta"`
	KeysDelta       int64   `json:"keys_delta"`
	BytesPerSession float64 `json:"bytes_per_session"` // per login
	KeysPerSession  float64 `json:"keys_per_session"`  // per login
	// Live is how many of the logins' cookies still show the signed-in
	// page afterwards: all of them, unless the target bounds the sessions
	// of one name (ours and engine keep at most SESSION_MAX_PER_NAME,
	// default 50, and end the least recently used). BytesPerLive is the
	// delta divided by them.
	Live         int     `json:"live_sessions"`
	BytesPerLive float64 `json:"bytes_per_live_session"`
	// KeyKinds is MEMORY USAGE of a sample of the keys, by kind of key
	// (Redis' own estimate of one key: name, value and its dict entry,
	// without the expiry entry and hash-table buckets).
	KeyKinds []KeyKind `json:"key_kinds,omitempty"`
}

// KeyKind is the average MEMORY USAGE of sampled keys of one kind.
type KeyKind struct {
	Kind     string  `json:"kind"`
	Type     string  `json:"type"`
	Encoding string  `json:"encoding"`
	Sampled  int     `json:"sampled"`
	Bytes    float64 `json:"avg_bytes"`
	Example  string  `json:"example_key"`
}

// measureMemory measures both cases on t, whose database is empty: first
// a name per login, then one name for all (its own name, so the first
// case's sessions do not count).
func (s *suite) measureMemory(ctx context.Context, t *target) ([]Memory, error) {
	c := newHTTPClient(4)
	defer c.close()
	// A few hundred logins first let the target's connection pool settle.
	warm := func(ctx context.Context, i int) error {
		_, err := c.login(ctx, t.Base, fmt.Sprintf("warm%06d", i))
		return err
	}
	if _, err := parallel(ctx, 300, 4, time.Now().Add(time.Minute), warm); err != nil {
		return nil, err
	}
	each, err := s.memoryCase(ctx, t, c, "each", func(i int) string { return fmt.Sprintf("mem%06d", i) })
	if err != nil {
		return nil, err
	}
	if each.KeyKinds, err = s.keyKinds(ctx, t, 200); err != nil {
		return nil, err
	}
	// The first logins beyond a name's limit of live sessions (ours and
	// engine) run a code path of their own whose Lua script Redis loads and
	// compiles then: about 90 KB once, whichever target comes first, which
	// divided by 50 live sessions would count as 1,800 bytes each. Another
	// name takes that path first.
	for i := range 100 {
		if _, err := c.login(ctx, t.Base, "warmone"); err != nil {
			return nil, fmt.Errorf("warm-up login %d: %w", i, err)
		}
	}
	one, err := s.memoryCase(ctx, t, c, "one", func(int) string { return "memone" })
	if err != nil {
		return nil, err
	}
	return []Memory{each, one}, nil
}

// memoryCase logs in MemSessions browsers (no cookie) with the names name
// gives and divides the growth of used_memory by the logins and by the
// sessions still live.
func (s *suite) memoryCase(ctx context.Context, t *target, c *httpClient, names string, name func(int) string) (Memory, error) {
	m := Memory{Target: t.Name, Names: names}
	cookies := make([]string, s.cfg.MemSessions)
	before, err := s.settledSnapshot(ctx)
	if err != nil {
		return m, err
	}
	// One name for all is logged in from one worker, so "least recently
	// used" is the login order.
	workers := 4
	if names == "one" {
		workers = 1
	}
	n, err := parallel(ctx, s.cfg.MemSessions, workers, time.Now().Add(5*time.Minute), func(ctx context.Context, i int) error {
		ck, err := c.login(ctx, t.Base, name(i))
		cookies[i] = ck
		return err
	})
	if err != nil {
		return m, err
	}
	after, err := s.settledSnapshot(ctx)
	if err != nil {
		return m, err
	}
	m.Logins = n
	m.UsedMemoryDelta = after.dataMemory() - before.dataMemory()
	m.ClientMemDelta = after.clientMem - before.clientMem
	m.KeysDelta = after.keys[t.DB] - before.keys[t.DB]
	m.BytesPerSession = round3(float64(m.UsedMemoryDelta) / float64(n))
	m.KeysPerSession = round3(float64(m.KeysDelta) / float64(n))
	if m.Live, err = s.live(ctx, t, c, cookies); err != nil {
		return m, err
	}
	if m.Live > 0 {
		m.BytesPerLive = round3(float64(m.UsedMemoryDelta) / float64(m.Live))
	}
	return m, nil
}

// live counts the cookies whose GET / is still the signed-in page (200;
// a redirect to /login is a session that ended).
func (s *suite) live(ctx context.Context, t *target, c *httpClient, cookies []string) (int, error) {
	var mu sync.Mutex
	n := 0
	_, err := parallel(ctx, len(cookies), 4, time.Now().Add(5*time.Minute), func(ctx context.Context, i int) error {
		code, _, body, err := c.do(ctx, "GET", t.Base+"/", cookies[i], nil)
		switch {
		case err != nil:
			return err
		case code == 200:
			mu.Lock()
			n++
			mu.Unlock()
		case code/100 != 3:
			return fmt.Errorf("GET / with a login's cookie: status %d: %.200s", code, body)
		}
		return nil
	})
	return n, err
}

// keyKinds samples up to n keys of t's database with SCAN and averages
// MEMORY USAGE per kind (the key name with its random parts removed).
func (s *suite) keyKinds(ctx context.Context, t *target, n int) ([]KeyKind, error) {
	rc := redis.NewClient(&redis.Options{Addr: s.redisAddr, DB: t.DB, PoolSize: 1})
	defer rc.Close()
	kinds := map[string]*KeyKind{}
	var order []string
	var cursor uint64
	seen := 0
	for seen < n {
		keys, next, err := rc.Scan(ctx, cursor, t.Prefix+"*", 100).Result()
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if seen >= n {
				break
			}
			seen++
			kind := keyKind(t.Prefix, k)
			kk := kinds[kind]
			if kk == nil {
				typ, _ := rc.Type(ctx, k).Result()
				enc, _ := rc.ObjectEncoding(ctx, k).Result()
				kk = &KeyKind{Kind: kind, Type: typ, Encoding: enc, Example: k}
				kinds[kind] = kk
				order = append(order, kind)
			}
			b, err := rc.MemoryUsage(ctx, k, 0).Result()
			if err != nil {
				continue // expired or gone meanwhile
			}
			kk.Bytes = (kk.Bytes*float64(kk.Sampled) + float64(b)) / float64(kk.Sampled+1)
			kk.Sampled++
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	out := make([]KeyKind, 0, len(order))
	for _, k := range order {
		kinds[k].Bytes = round3(kinds[k].Bytes)
		out = append(out, *kinds[k])
	}
	return out, nil
}

// keyKind is k with its hash tag and every run of 8 or more letters and
// digits (ids, generated names) replaced by "*".
func keyKind(prefix, k string) string {
	k = strings.TrimPrefix(k, prefix)
	k = hashTag.ReplaceAllString(k, "{*}")
	return prefix + idRun.ReplaceAllString(k, "*")
}

var hashTag = regexp.MustCompile(`\{[^}]*\}`)

var idRun = regexp.MustCompile(`[A-Za-z0-9_\-]{8,}`)
