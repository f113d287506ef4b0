package session

import (
	"testing"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/tester"
)

// gin-contrib/sessions' own conformance suite, against each real store.
func TestGinContribConformance(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			factory := func(t *testing.T) sessions.Store {
				b, prefix := bc.open(t)
				return NewStore(mustManager(t, b, prefix, nil))
			}
			t.Run("GetSet", func(t *testing.T) { tester.GetSet(t, factory) })
			t.Run("DeleteKey", func(t *testing.T) { tester.DeleteKey(t, factory) })
			t.Run("Flashes", func(t *testing.T) { tester.Flashes(t, factory) })
			t.Run("Clear", func(t *testing.T) { tester.Clear(t, factory) })
			t.Run("Options", func(t *testing.T) { tester.Options(t, factory) })
			t.Run("Many", func(t *testing.T) { tester.Many(t, factory) })
		})
	}
}
