package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisTarget is a parsed REDIS_URL: exactly one of the three is set, by
// go-redis' own UniversalClient rule. A master_name= parameter means
// Sentinel; several addresses (addr= parameters) mean Cluster; cluster=true
// forces Cluster with one seed address (our parameter, removed before
// go-redis parses the rest); otherwise it is one server.
type redisTarget struct {
	Simple   *redis.Options
	Failover *redis.FailoverOptions
	Cluster  *redis.ClusterOptions
}

// parseRedisURL parses raw with go-redis' parsers and applies timeout to
// every dial, read, write and pool wait that the URL does not set itself,
// with context deadlines honoured, so a hung Redis gives fast 503s.
func parseRedisURL(raw string, timeout time.Duration) (redisTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return redisTarget{}, fmt.Errorf("not a URL: %v", err)
	}
	q := u.Query()
	cluster := false
	if v, ok := q["cluster"]; ok {
		if cluster, err = strconv.ParseBool(v[len(v)-1]); err != nil {
			return redisTarget{}, fmt.Errorf("cluster=%q: want true or false", v[len(v)-1])
		}
		q.Del("cluster")
		u.RawQuery = q.Encode()
	}
	clean := u.String()
	var t redisTarget
	switch {
	case q.Has("master_name"):
		for _, p := range []string{"route_by_latency", "route_randomly", "replica_only"} {
			if q.Has(p) {
				return t, fmt.Errorf("%s is not supported: sessions are read and written on the master only", p)
			}
		}
		if t.Failover, err = redis.ParseFailoverURL(clean); err != nil {
			return t, err
		}
		o := t.Failover
		o.ContextTimeoutEnabled = true
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, timeout)
	case cluster || len(q["addr"]) > 0:
		if t.Cluster, err = redis.ParseClusterURL(clean); err != nil {
			return t, err
		}
		o := t.Cluster
		if o.ReadOnly || o.RouteByLatency || o.RouteRandomly {
			return t, errors.New("read_only, route_by_latency and route_randomly are not supported: sessions are read and written on the masters only")
		}
		o.ContextTimeoutEnabled = true
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, timeout)
	default:
		if t.Simple, err = redis.ParseURL(clean); err != nil {
			return t, err
		}
		o := t.Simple
		o.ContextTimeoutEnabled = true
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, timeout)
	}
	return t, nil
}

func setTimeouts(dial, read, write, pool *time.Duration, d time.Duration) {
	for _, p := range []*time.Duration{dial, read, write, pool} {
		if *p == 0 {
			*p = d
		}
	}
}

// Client makes the client the target names.
func (t redisTarget) Client() redis.UniversalClient {
	switch {
	case t.Failover != nil:
		return redis.NewFailoverClient(t.Failover)
	case t.Cluster != nil:
		return redis.NewClusterClient(t.Cluster)
	default:
		return redis.NewClient(t.Simple)
	}
}

// Kind names the topology, for the start-up log line.
func (t redisTarget) Kind() string {
	switch {
	case t.Failover != nil:
		return "sentinel"
	case t.Cluster != nil:
		return "cluster"
	default:
		return "single"
	}
}
