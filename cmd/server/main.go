// Command sessiond (built from cmd/server) is a Gin web service whose
// sessions are shared by its replicas through Redis (or kept in a folder
// when run alone). `sessiond -h` lists its configuration.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitCode(err))
	}
}
