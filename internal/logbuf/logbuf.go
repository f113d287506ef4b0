// Package logbuf is a write-behind buffer for the service's log: a request
// copies its log line into memory and goes on, and one goroutine writes
// what has gathered, in order, as soon as it can. Under load the lines of
// many requests leave in one write; when idle a line leaves at once.
//
// What a crash loses is what was not written yet: the lines of the last
// moments, at most Max bytes (a write that stalls makes Write wait once the
// buffer is full, so a stuck log slows requests down instead of growing
// without bound). Close writes what is left; the service closes it last at
// shutdown.
package logbuf

import (
	"io"
	"sync"
)

// Max is how many bytes of lines may wait for the writer.
const Max = 256 << 10

// Writer buffers what is written to it for w (see the package comment).
type Writer struct {
	w io.Writer

	mu      sync.Mutex
	room    *sync.Cond // signalled when the writer took the buffer
	buf     []byte     // lines waiting, in order
	closed  bool
	pending chan struct{} // a write is due (capacity 1)
	done    chan struct{} // the writer has ended
}

// New starts a Writer in front of w.
func New(w io.Writer) *Writer {
	b := &Writer{w: w, pending: make(chan struct{}, 1), done: make(chan struct{})}
	b.room = sync.NewCond(&b.mu)
	go b.run()
	return b
}

// Write copies p (one or more whole lines) into the buffer. After Close it
// writes p through.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	for !b.closed && len(b.buf) > 0 && len(b.buf)+len(p) > Max {
		b.room.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	b.mu.Unlock()
	select {
	case b.pending <- struct{}{}:
	default: // the writer is due to run already
	}
	return len(p), nil
}

// run writes the buffer out whenever lines are pending, until Close.
func (b *Writer) run() {
	defer close(b.done)
	var spare []byte
	for range b.pending {
		b.mu.Lock()
		out := b.buf
		b.buf = spare[:0]
		closed := b.closed
		b.room.Broadcast()
		b.mu.Unlock()
		if len(out) > 0 {
			_, _ = b.w.Write(out) // a log that cannot be written has nowhere to say so
		}
		spare = out
		if closed {
			return
		}
	}
}

// Close writes what is buffered, stops the writer, and lets later writes
// go straight to w.
func (b *Writer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.room.Broadcast()
	b.mu.Unlock()
	select {
	case b.pending <- struct{}{}: // the writer runs once more, sees closed, ends
	default: // a run is due already: the same
	}
	<-b.done
	return nil
}
