// Command dev runs the service's shape on loopback for a developer: a
// redis-server, three replicas of the built sessiond and nginx in front of
// them, rendered from the balancer template the tests use (internal/lbconfig,
// via internal/devstack). It prints the URL, shows which replica answered
// each request, and on Ctrl-C ends everything it started, by PID.
//
//	make dev                       # builds bin/sessiond, then runs this
//	go run ./cmd/dev -server bin/sessiond -listen 127.0.0.1:8080
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}
