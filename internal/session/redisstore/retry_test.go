package redisstore

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redistest"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/sessiontest"
)

// answerCutter forwards a loopback port to Redis; once armed, the next
// answer Redis sends is not delivered: the client's connection is closed
// instead, after Redis has run what it was sent. That is a write whose
// fate the client cannot know.
type answerCutter struct {
	addr  string
	armed atomic.Bool
	cut   atomic.Int64
}

func startAnswerCutter(t *testing.T, target string) *answerCutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &answerCutter{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(s, c); s.Close() })
			wg.Go(func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 && p.armed.CompareAndSwap(true, false) {
						p.cut.Add(1)
						c.Close()
						s.Close()
						return
					}
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						c.Close()
						return
					}
				}
			})
		}
	})
	return p
}

// A write whose answer is lost is not sent again: the caller is told it
// cannot know (ErrUnavailable, answered "we cannot tell whether it went
// through"), and an increment Redis ran counts once. go-redis retries a
// command or a pipeline that failed on a broken connection; a script that
// Redis had already run would run twice.
func TestWriteWhoseAnswerIsLostIsNotSentAgain(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	for name, opts := range map[string][]Option{"batched": nil, "plain": {PlainCommands()}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cutter := startAnswerCutter(t, srv.Addr)
			client := redis.NewClient(&redis.Options{Addr: cutter.addr, MaxRetries: 3, ReadTimeout: 2 * time.Second})
			t.Cleanup(func() { client.Close() })
			m := sessiontest.MustManager(t, New(client, opts...), redistest.Prefix(t), nil)
			a := sessiontest.NewApp(t, m)
			c := a.Login("once")
			a.Do("POST", "/incr/apples", c) // the script is cached, the counter at 1
			s := sessiontest.Load(t, m, c)
			s.Incr("apples", 1, 100)
			cutter.armed.Store(true)
			err := s.Save()
			if cutter.cut.Load() != 1 {
				t.Fatalf("the answer was not cut (%d)", cutter.cut.Load())
			}
			if !errors.Is(err, session.ErrUnavailable) {
				t.Errorf("a write whose answer was lost: %v, want ErrUnavailable", err)
			}
			if got := a.Body("GET", "/get/apples", c); got != "2" {
				t.Errorf("apples %q after one add whose answer was lost, want 2: the script ran again", got)
			}
		})
	}
}
