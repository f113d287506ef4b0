package redisstore

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redisconn"
	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// The contract suite on the other topologies the service runs on: a
// three-master Cluster (sessions and their index in different slots) and a
// Sentinel-managed master, each reached as the service reaches them, by
// REDIS_URL.
func TestContractOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("Redis Cluster: run by make test, not test-short")
	}
	cl := redistest.StartCluster(t)
	url := cl.URL()
	sessiontest.Run(t, func(t testing.TB) (session.Backend, string) {
		return New(openURL(t, url)), redistest.Prefix(t)
	})
}

func TestContractOnSentinel(t *testing.T) {
	if testing.Short() {
		t.Skip("Redis Sentinel: run by make test, not test-short")
	}
	s := redistest.StartSentinel(t)
	url := s.URL()
	sessiontest.Run(t, func(t testing.TB) (session.Backend, string) {
		return New(openURL(t, url)), redistest.Prefix(t)
	})
}

func openURL(t testing.TB, url string) redis.UniversalClient {
	t.Helper()
	c, err := redisconn.Open(url, redisconn.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
