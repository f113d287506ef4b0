package redisconn

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseTopologies(t *testing.T) {
	for _, tc := range []struct {
		url   string
		kind  Kind
		addrs []string // sentinel or seed addresses; the one server's for Single
		db    int
	}{
		{"redis://127.0.0.1:6379/0", Single, []string{"127.0.0.1:6379"}, 0},
		{"redis://:pw@redis.internal:6380/3", Single, []string{"redis.internal:6380"}, 3},
		{"rediss://user:pw@redis.internal/2", Single, []string{"redis.internal:6379"}, 2},
		{"redis://127.0.0.1:6379/0?cluster=false", Single, []string{"127.0.0.1:6379"}, 0},
		{"unix:///run/redis.sock?db=4", Single, []string{"/run/redis.sock"}, 4},
		{"redis://[::1]:7000", Single, []string{"[::1]:7000"}, 0},
		{"redis://s1:26379?master_name=mymaster&addr=s2:26379&addr=s3:26379", Sentinel,
			[]string{"s1:26379", "s2:26379", "s3:26379"}, 0},
		{"redis://s1:26379/5?master_name=mymaster", Sentinel, []string{"s1:26379"}, 5},
		{"redis://node1:7000?addr=node2:7001&addr=node3:7002", Cluster,
			[]string{"node1:7000", "node2:7001", "node3:7002"}, 0},
		{"redis://node1:7000/0?cluster=true", Cluster, []string{"node1:7000"}, 0},
		{"rediss://u:p@cfg.example:6379?cluster=1", Cluster, []string{"cfg.example:6379"}, 0},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c, err := parse(tc.url, Options{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if c.kind != tc.kind {
				t.Fatalf("kind %s, want %s", c.kind, tc.kind)
			}
			var addrs []string
			var db int
			switch c.kind {
			case Single:
				addrs, db = []string{c.single.Addr}, c.single.DB
			case Sentinel:
				addrs, db = c.failover.SentinelAddrs, c.failover.DB
				if c.failover.MasterName != "mymaster" {
					t.Errorf("master name %q", c.failover.MasterName)
				}
			case Cluster:
				addrs = c.cluster.Addrs
			}
			if !slices.Equal(addrs, tc.addrs) || db != tc.db {
				t.Errorf("addrs %v db %d, want %v db %d", addrs, db, tc.addrs, tc.db)
			}
			if k, err := KindOf(tc.url); k != tc.kind || err != nil {
				t.Errorf("KindOf = %s, %v", k, err)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	c, err := parse("redis://alice:pw1@h:6379/0", Options{})
	if err != nil || c.single.Username != "alice" || c.single.Password != "pw1" {
		t.Errorf("single: %v %+v", err, c.single)
	}
	c, err = parse("redis://alice:pw1@h:7000?addr=h:7001", Options{})
	if err != nil || c.cluster.Username != "alice" || c.cluster.Password != "pw1" {
		t.Errorf("cluster: %v %+v", err, c.cluster)
	}
	// go-redis' Sentinel rule: user:pass@ is for the sentinels, the query's
	// username= and password= are for the master and replicas.
	c, err = parse("redis://sen:pw2@s1:26379?master_name=m&username=app&password=pw3", Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.failover
	if f.SentinelUsername != "sen" || f.SentinelPassword != "pw2" || f.Username != "app" || f.Password != "pw3" {
		t.Errorf("sentinel credentials: %q/%q master %q/%q", f.SentinelUsername, f.SentinelPassword, f.Username, f.Password)
	}
}

func TestTimeoutsAndMasterOnly(t *testing.T) {
	const d = 700 * time.Millisecond
	c, _ := parse("redis://h:1/0?read_timeout=2s", Options{Timeout: d})
	s := c.single
	if s.DialTimeout != d || s.WriteTimeout != d || s.PoolTimeout != d || s.ReadTimeout != 2*time.Second || !s.ContextTimeoutEnabled {
		t.Errorf("single: dial %v read %v write %v pool %v ctx %v", s.DialTimeout, s.ReadTimeout, s.WriteTimeout, s.PoolTimeout, s.ContextTimeoutEnabled)
	}
	c, _ = parse("redis://s:1?master_name=m", Options{Timeout: d})
	f := c.failover
	if f.DialTimeout != d || f.ReadTimeout != d || f.WriteTimeout != d || f.PoolTimeout != d || !f.ContextTimeoutEnabled ||
		f.ReplicaOnly || f.RouteByLatency || f.RouteRandomly {
		t.Errorf("sentinel: %+v", f)
	}
	c, _ = parse("redis://n:1?cluster=true", Options{Timeout: d})
	cl := c.cluster
	if cl.DialTimeout != d || cl.ReadTimeout != d || cl.WriteTimeout != d || cl.PoolTimeout != d || !cl.ContextTimeoutEnabled ||
		cl.ReadOnly || cl.RouteByLatency || cl.RouteRandomly {
		t.Errorf("cluster: %+v", cl)
	}
	c, _ = parse("redis://h:1/0", Options{})
	if c.single.DialTimeout != 0 || !c.single.ContextTimeoutEnabled {
		t.Errorf("zero Timeout must leave go-redis' defaults: %v", c.single.DialTimeout)
	}
}

func TestInvalidURLs(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"http://h:6379", `unknown scheme "http"`},
		{"redis+sentinel://h:26379", "unknown scheme"},
		{"//h:6379", "no scheme"},
		{"localhost:6379", "want scheme://host:port"},
		{"redis://:secret@h:notaport/0", "invalid port"},
		{"redis://h:0/0", "port must be 1-65535"},
		{"redis://h:70000/0", "port must be 1-65535"},
		{"redis:///0", "no host"},
		{"redis://h:6379/x", "invalid database number"},
		{"redis://h:6379/0/1", "invalid URL path"},
		{"redis://h:6379/0?pool_size=many", "invalid pool_size"},
		{"redis://h:6379/0?bogus=1", "unexpected option: bogus"},
		{"redis://h:6379/0?dial_timeout=soon", "invalid dial_timeout"},
		{"redis://h:6379?master_name=", "master_name is empty"},
		{"redis://h:6379?master_name=m&cluster=true", "exclude each other"},
		{"redis://h:6379?master_name=m&cluster=false", "exclude each other"},
		{"redis://h:6379?master_name=m&addr=s2", "missing port"},
		{"redis://h?master_name=m&addr=s2:26379", ""}, // the URL's host defaults to 6379
		{"redis://h:6379?master_name=m&addr=:26379", "no host"},
		{"redis://h:6379?master_name=m&addr=s2:99999", "port must be 1-65535"},
		{"redis://h:6379?master_name=m&sentinel_password=x", "user:password@"},
		{"redis://h:6379?master_name=m&replica_only=true", "master only"},
		{"redis://h:6379?addr=h2:6379&read_only=true", "master only"},
		{"redis://h:6379?addr=h2:6379&route_randomly=1", "master only"},
		{"redis://h:6379?addr=h2:6379&cluster=false", "several addresses always mean Cluster"},
		{"redis://h:6379?cluster=yes", `cluster="yes"`},
		{"redis://h:6379/3?cluster=true", "database 0 only"},
		{"redis://h:6379?addr=h2:6379&db=1", "unexpected option: db"},
		{"unix:///run/redis.sock?cluster=true", "one server only"},
		{"redis://h:6379/0?%zz=1", "query"},
	} {
		_, err := Open(tc.url, Options{})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want one containing %q", tc.url, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("%q: the error shows the password: %v", tc.url, err)
		}
	}
}

func TestDescribeHidesPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"redis://127.0.0.1:6379/0":                                                "redis://127.0.0.1:6379/0",
		"redis://:s3cret@h:6379/0":                                                "redis://:xxxxx@h:6379/0",
		"rediss://app:s3cret@h:6379/0?cluster=true":                               "rediss://app:xxxxx@h:6379/0?cluster=true",
		"redis://sen:s3cret@s1:26379?master_name=m&password=s3cret&addr=s2:26379": "redis://sen:xxxxx@s1:26379?master_name=m&password=xxxxx&addr=s2:26379",
		"redis://h:6379?sentinel_password=s3cret":                                 "redis://h:6379?sentinel_password=xxxxx",
		"redis://:s3cret@h:bad/0":                                                 "(unparseable Redis URL)",
	} {
		if got := Describe(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("Describe(%q) = %q, want %q", in, got, want)
		}
	}
}
