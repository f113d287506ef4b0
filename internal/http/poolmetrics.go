package http

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/extra/redisprometheus/v9"
	"github.com/redis/go-redis/v9"
)

// PoolStatser is what the Redis pool collectors read: every go-redis
// client (single, Sentinel, Cluster) has it.
type PoolStatser interface {
	PoolStats() *redis.PoolStats
}

// WatchRedisPool exports the connection pool statistics of client, read
// at each scrape: go-redis' own collector (redisprometheus:
// sessiond_redis_pool_hit_total, _miss_total, _timeout_total,
// _conn_total_current, _conn_idle_current, _conn_stale_total), and, in its
// naming, the four statistics it leaves out, which show a pool that is too
// small. Each figure covers both of the client's pools: the one for plain
// commands and the one for the batches concurrent requests share. Call it
// once, when the store is Redis.
func (m *Metrics) WatchRedisPool(client PoolStatser) {
	both := bothPools{client}
	m.reg.MustRegister(redisprometheus.NewCollector("sessiond", "redis", both), newPoolWaitCollector(both))
}

// bothPools sums a client's pool and pipeline pool statistics.
type bothPools struct{ PoolStatser }

func (b bothPools) PoolStats() *redis.PoolStats {
	s := b.PoolStatser.PoolStats()
	if s == nil || s.PipelineStats == nil {
		return s
	}
	sum := *s
	p := s.PipelineStats
	sum.Hits += p.Hits
	sum.Misses += p.Misses
	sum.Timeouts += p.Timeouts
	sum.WaitCount += p.WaitCount
	sum.Unusable += p.Unusable
	sum.WaitDurationNs += p.WaitDurationNs
	sum.TotalConns += p.TotalConns
	sum.IdleConns += p.IdleConns
	sum.StaleConns += p.StaleConns
	sum.PendingRequests += p.PendingRequests
	sum.PipelineStats = nil
	return &sum
}

// poolWaitCollector exports what redisprometheus (v9.22) does not: waits
// for a connection, their time, unusable connections, requests waiting.
type poolWaitCollector struct {
	client                            PoolStatser
	waits, waitSec, unusable, pending *prometheus.Desc
}

func newPoolWaitCollector(client PoolStatser) *poolWaitCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("sessiond_redis_pool_"+name, help, nil, nil)
	}
	return &poolWaitCollector{
		client:   client,
		waits:    d("wait_total", "Number of times a request waited for a connection from the pool"),
		waitSec:  d("wait_duration_seconds_total", "Time spent waiting for connections from the pool"),
		unusable: d("unusable_total", "Number of times a pooled connection was found unusable"),
		pending:  d("pending_requests_current", "Current number of requests waiting for a connection from the pool"),
	}
}

// Describe implements prometheus.Collector.
func (p *poolWaitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.waits
	ch <- p.waitSec
	ch <- p.unusable
	ch <- p.pending
}

// Collect implements prometheus.Collector.
func (p *poolWaitCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.client.PoolStats()
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(p.waits, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(p.waitSec, prometheus.CounterValue, float64(s.WaitDurationNs)/1e9)
	ch <- prometheus.MustNewConstMetric(p.unusable, prometheus.CounterValue, float64(s.Unusable))
	ch <- prometheus.MustNewConstMetric(p.pending, prometheus.GaugeValue, float64(s.PendingRequests))
}
