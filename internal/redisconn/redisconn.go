// Package redisconn turns a REDIS_URL into a go-redis client, by go-redis'
// own URL parsers and UniversalClient rule:
//
//	redis://[user:pass@]host:port/db       one server (redis.ParseURL);
//	rediss://...                           the same over TLS;
//	unix://[user:pass@]/path/redis.sock    one server over a Unix socket;
//	...?master_name=NAME[&addr=h:p...]     Sentinel (redis.ParseFailoverURL): the
//	                                       host and every addr= are sentinels;
//	...?addr=h:p[&addr=h:p...]             Cluster (redis.ParseClusterURL): the
//	                                       host and every addr= are seed nodes;
//	...?cluster=true                       Cluster with one seed address.
//
// Credentials follow go-redis: for one server and Cluster the user:pass@
// part is the data nodes' ACL user and password. For Sentinel the user:pass@
// part authenticates to the sentinels, and the master's (and replicas')
// credentials are the username= and password= query parameters.
//
// Every other query parameter is a go-redis option in snake case
// (pool_size=20, max_retries=2, dial_timeout=2s...); an unknown one is an
// error. The client reads and writes on the master only: the parameters
// that route reads to replicas are refused.
package redisconn

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options are the service's defaults for every topology. A timeout set in
// the URL (dial_timeout=, read_timeout=, write_timeout=, pool_timeout=)
// wins over them.
//
// On every topology a failed dial is not retried by the pool (DialerRetries
// 1, where go-redis' default is 5 dials 100ms apart): a refused connection
// fails the attempt at once, and the command's own retries (max_retries,
// milliseconds of backoff) are what try again. With go-redis' default one
// command with Redis down dials 4 × 5 times over 1.7s and uses up the whole
// store timeout before its 503. On Sentinel and Cluster a dialer_retries=
// in the URL wins (go-redis' ParseURL for one server has no such option).
type Options struct {
	// Timeout is the dial, read, write and pool-wait timeout (default: go-redis'
	// own, 5s to dial and 3s to read or write). Context deadlines are always
	// honoured as well (ContextTimeoutEnabled).
	Timeout time.Duration
}

// dialOnce is DialerRetries: one dial per attempt, no pool-level retry.
const dialOnce = 1

// Kind is the topology a URL names.
type Kind string

const (
	Single   Kind = "single"
	Sentinel Kind = "sentinel"
	Cluster  Kind = "cluster"
)

// Open parses rawURL and returns a client for its topology. It does not
// connect: the first command does (see the readiness probe). A wrong URL is
// an error that never contains the password.
func Open(rawURL string, o Options) (redis.UniversalClient, error) {
	c, err := parse(rawURL, o)
	if err != nil {
		return nil, err
	}
	switch c.kind {
	case Sentinel:
		return redis.NewFailoverClient(c.failover), nil
	case Cluster:
		cc := redis.NewClusterClient(c.cluster)
		reloadOnNodeFailure(cc)
		return cc, nil
	default:
		return redis.NewClient(c.single), nil
	}
}

// KindOf tells which topology rawURL names, or the error Open would give.
func KindOf(rawURL string) (Kind, error) {
	c, err := parse(rawURL, Options{})
	return c.kind, err
}

// config is a parsed URL: one of the three option sets, by kind.
type config struct {
	kind     Kind
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// readRouting are go-redis options that send reads to replicas. The
// service's guarantees (a write is seen by the next read) need the master.
var readRouting = []string{
	"read_only", "route_by_latency", "route_by_latency_tolerance",
	"route_randomly", "replica_only", "use_disconnected_replicas",
}

func parse(rawURL string, o Options) (config, error) {
	if strings.TrimSpace(rawURL) == "" {
		return config{}, invalid("empty")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole URL, password included
		}
		return config{}, invalid("%v", err)
	}
	if u.Opaque != "" {
		return config{}, invalid(`want scheme://host:port, e.g. redis://127.0.0.1:6379/0`)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return config{}, invalid("query: %v", err)
	}
	for _, p := range readRouting {
		if q.Has(p) {
			return config{}, invalid("%s: the service reads and writes on the master only", p)
		}
	}
	for _, p := range []string{"sentinel_username", "sentinel_password"} {
		if q.Has(p) {
			return config{}, invalid("%s: go-redis takes the sentinels' credentials from the user:password@ part of the URL, and the master's from the username= and password= parameters", p)
		}
	}

	forceCluster, clusterSet := false, q.Has("cluster")
	if clusterSet {
		switch v := q.Get("cluster"); v {
		case "true", "1":
			forceCluster = true
		case "false", "0":
		default:
			return config{}, invalid("cluster=%q: want true or false", v)
		}
		q.Del("cluster")
	}
	addrs := q["addr"]
	master, sentinel := q.Get("master_name"), q.Has("master_name")

	kind := Single
	switch {
	case sentinel:
		kind = Sentinel
		if master == "" {
			return config{}, invalid("master_name is empty")
		}
		if clusterSet {
			return config{}, invalid("master_name (Sentinel) and cluster= (Cluster) exclude each other")
		}
	case forceCluster || len(addrs) > 0:
		kind = Cluster
		if clusterSet && !forceCluster {
			return config{}, invalid("cluster=false with several addresses: several addresses always mean Cluster")
		}
	}

	switch u.Scheme {
	case "redis", "rediss":
		if err := checkAddr(u.Host, false); err != nil {
			return config{}, invalid("%v", err)
		}
	case "unix":
		if kind != Single {
			return config{}, invalid("unix:// is one server only: no master_name, addr or cluster")
		}
	case "":
		return config{}, invalid(`no scheme: want redis://, rediss:// or unix://`)
	default:
		return config{}, invalid("unknown scheme %q: want redis, rediss or unix", u.Scheme)
	}
	for _, a := range addrs {
		if err := checkAddr(a, true); err != nil {
			return config{}, invalid("addr=: %v", err)
		}
	}
	if kind == Cluster {
		// ParseClusterURL ignores the path; say so rather than drop a db.
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return config{}, invalid("path %q: Cluster has database 0 only", u.Path)
		}
		u.Path = ""
	}
	u.RawQuery = q.Encode()
	clean := u.String()

	c := config{kind: kind}
	switch kind {
	case Sentinel:
		if c.failover, err = redis.ParseFailoverURL(clean); err == nil {
			f := c.failover
			applyTimeouts(o.Timeout, &f.DialTimeout, &f.ReadTimeout, &f.WriteTimeout, &f.PoolTimeout)
			f.ContextTimeoutEnabled = true
			if f.DialerRetries == 0 {
				f.DialerRetries = dialOnce
			}
			f.ReplicaOnly, f.RouteByLatency, f.RouteRandomly = false, false, false
		}
	case Cluster:
		if c.cluster, err = redis.ParseClusterURL(clean); err == nil {
			cl := c.cluster
			applyTimeouts(o.Timeout, &cl.DialTimeout, &cl.ReadTimeout, &cl.WriteTimeout, &cl.PoolTimeout)
			cl.ContextTimeoutEnabled = true
			if cl.DialerRetries == 0 {
				cl.DialerRetries = dialOnce
			}
			cl.ReadOnly, cl.RouteByLatency, cl.RouteRandomly = false, false, false
		}
	default:
		if c.single, err = redis.ParseURL(clean); err == nil {
			s := c.single
			applyTimeouts(o.Timeout, &s.DialTimeout, &s.ReadTimeout, &s.WriteTimeout, &s.PoolTimeout)
			s.ContextTimeoutEnabled = true
			s.DialerRetries = dialOnce // ParseURL has no dialer_retries=
		}
	}
	if err != nil {
		return config{}, invalid("%s", strings.TrimPrefix(err.Error(), "redis: "))
	}
	return c, nil
}

// checkAddr wants host:port with a port in 1-65535. The URL's own host may
// come without a port (go-redis then uses 6379); addr= values may not.
func checkAddr(hostport string, needPort bool) error {
	if hostport == "" {
		return errors.New("no host")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		if !needPort && strings.Contains(err.Error(), "missing port") {
			return nil
		}
		return fmt.Errorf("address %q: %v", hostport, err)
	}
	if host == "" {
		return fmt.Errorf("address %q: no host", hostport)
	}
	if port == "" {
		return nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("address %q: port must be 1-65535", hostport)
	}
	return nil
}

// applyTimeouts sets each duration the URL left at its default (0).
func applyTimeouts(d time.Duration, fields ...*time.Duration) {
	if d <= 0 {
		return
	}
	for _, f := range fields {
		if *f == 0 {
			*f = d
		}
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("invalid Redis URL: "+format, args...)
}

// Describe returns rawURL with every password replaced by "xxxxx" (the
// user:password@ part and the password= parameter), fit for logs. A URL
// that does not parse is described as such, without its text.
func Describe(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparseable Redis URL)"
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			if k, err := url.QueryUnescape(k); err == nil && strings.HasSuffix(k, "password") {
				parts[i] = k + "=xxxxx"
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.Redacted()
}
