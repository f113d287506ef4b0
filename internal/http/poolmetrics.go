package http

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// PoolStatser is what the Redis pool collector reads: every go-redis
// client (single, Sentinel, Cluster) has it.
type PoolStatser interface {
	PoolStats() *redis.PoolStats
}

// WatchRedisPool exports the connection pool statistics of client, read
// at each scrape. Call it once, when the store is Redis.
func (m *Metrics) WatchRedisPool(client PoolStatser) {
	m.reg.MustRegister(newPoolCollector(client))
}

type poolCollector struct {
	client                                 PoolStatser
	hits, misses, timeouts, waits, waitSec *prometheus.Desc
	unusable, stale, total, idle, pending  *prometheus.Desc
}

func newPoolCollector(client PoolStatser) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("sessiond_redis_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		client:   client,
		hits:     d("hits_total", "Times a free connection was found in the Redis pool."),
		misses:   d("misses_total", "Times no free connection was in the Redis pool (a new one was dialled or waited for)."),
		timeouts: d("timeouts_total", "Times a wait for a Redis pool connection timed out."),
		waits:    d("waits_total", "Times a request waited for a Redis pool connection."),
		waitSec:  d("wait_seconds_total", "Time spent waiting for Redis pool connections."),
		unusable: d("unusable_total", "Times a pooled Redis connection was found unusable."),
		stale:    d("stale_connections_total", "Stale Redis connections removed from the pool."),
		total:    d("connections", "Redis connections in the pool, idle or in use."),
		idle:     d("idle_connections", "Idle Redis connections in the pool."),
		pending:  d("pending_requests", "Requests waiting for a Redis pool connection."),
	}
}

// Describe implements prometheus.Collector.
func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.hits, p.misses, p.timeouts, p.waits, p.waitSec, p.unusable, p.stale, p.total, p.idle, p.pending} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.client.PoolStats()
	if s == nil {
		return
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(p.hits, float64(s.Hits))
	counter(p.misses, float64(s.Misses))
	counter(p.timeouts, float64(s.Timeouts))
	counter(p.waits, float64(s.WaitCount))
	counter(p.waitSec, float64(s.WaitDurationNs)/1e9)
	counter(p.unusable, float64(s.Unusable))
	counter(p.stale, float64(s.StaleConns))
	gauge(p.total, float64(s.TotalConns))
	gauge(p.idle, float64(s.IdleConns))
	gauge(p.pending, float64(s.PendingRequests))
}
