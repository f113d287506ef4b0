package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink is an io.Writer that records what it gets; gate, when set, holds
// every write until it is closed.
type sink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	gate   chan struct{}
}

func (s *sink) Write(p []byte) (int, error) {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.buf.Write(p)
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Lines of concurrent writers all arrive, whole and each writer's in its
// order; Close leaves nothing behind.
func TestEveryLineArrivesInOrder(t *testing.T) {
	out := &sink{}
	w := New(out)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "writer %d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "writer %d line %d", &g, &i); err != nil {
			t.Fatalf("a broken line %q: %v", l, err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d after line %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if len(got) != writers*lines {
		t.Fatalf("%d lines arrived, want %d", len(got), writers*lines)
	}
	t.Logf("%d lines in %d writes", len(got), out.writes)
	fmt.Fprintln(w, "after close")
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Error("a line written after Close was not written through")
	}
}

// When nothing else is written, a line leaves without waiting for more.
func TestALineLeavesAtOnceWhenIdle(t *testing.T) {
	out := &sink{}
	w := New(out)
	defer w.Close()
	fmt.Fprintln(w, "alone")
	deadline := time.Now().Add(10 * time.Second)
	for out.String() != "alone\n" {
		if time.Now().After(deadline) {
			t.Fatal("a lone line was still in the buffer after 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// A writer that stalls makes Write wait once Max bytes are buffered: the
// buffer never holds more than Max (plus the one line that started it).
func TestAStalledWriterBoundsTheBuffer(t *testing.T) {
	out := &sink{gate: make(chan struct{})}
	w := New(out)
	line := strings.Repeat("x", 1023) + "\n"
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 * Max / len(line) {
			w.Write([]byte(line))
		}
	}()
	// The writer holds the first lines in its stalled write; the others
	// fill the buffer up to Max and wait.
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		n := len(w.buf)
		w.mu.Unlock()
		if n > Max {
			t.Fatalf("%d bytes buffered, more than Max (%d)", n, Max)
		}
		if n+len(line) > Max {
			break // full: the writing goroutine must be waiting
		}
		if time.Now().After(deadline) {
			t.Fatalf("the buffer did not fill: %d bytes", n)
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("every Write returned while the writer was stalled and the buffer full")
	default:
	}
	close(out.gate)
	<-done
	w.Close()
	if got, want := len(out.String()), 3*Max/len(line)*len(line); got != want {
		t.Errorf("%d bytes written, want %d", got, want)
	}
}
