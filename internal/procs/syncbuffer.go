package procs

import (
	"bytes"
	"sync"
)

// SyncBuffer is an output that a test reads while others write it: a
// child's stdout and stderr (Server.Out), or the logs of a server running
// in the test's own process. The zero value is ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
