package redistest

import "testing"

// No port is handed out twice in one test binary, though the kernel may
// give a just-closed port again.
func TestFreePortsNeverRepeat(t *testing.T) {
	seen := map[int]bool{}
	for _, p := range append(FreePorts(t, 200), FreePort(t), FreePort(t)) {
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
