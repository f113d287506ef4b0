package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

const commands = `usage: sessiond              serve, configured by the environment variables below
       sessiond healthcheck  exit 0 if /healthz on ADDR's port answers 200, else 1
       sessiond version      print the build: module version, VCS revision and time, Go version
       sessiond -h           print this
`

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg + "\n" + commands }

// ExitCode: configuration and usage errors exit 2, like flag parsing.
func (e *usageError) ExitCode() int  { return 2 }
func (e *configError) ExitCode() int { return 2 }

// exitCode is the process status for an error of run.
func exitCode(err error) int {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

// command runs the subcommand named by arg.
func command(ctx context.Context, arg string, getenv func(string) string, stdout io.Writer) error {
	switch arg {
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "version":
		return writeVersion(stdout)
	case "-h", "-help", "--help", "help":
		return writeUsage(stdout)
	default:
		return &usageError{msg: fmt.Sprintf("unknown argument %q", arg)}
	}
}

// writeUsage prints the commands and the configuration table: each
// variable with its default, then what it means.
func writeUsage(w io.Writer) error {
	var b strings.Builder
	b.WriteString(commands)
	b.WriteString("\nEnvironment (NAME=default, or NAME (what applies when unset)):\n")
	for _, v := range variables() {
		if strings.HasPrefix(v.Default, "(") {
			fmt.Fprintf(&b, "  %s %s\n      %s\n", v.Name, v.Default, v.Meaning)
		} else {
			fmt.Fprintf(&b, "  %s=%s\n      %s\n", v.Name, v.Default, v.Meaning)
		}
	}
	b.WriteString("\nDurations are Go durations (30s, 15m, 24h). A bad value stops the start\nwith one line per problem and exit status 2.\n")
	_, err := io.WriteString(w, b.String())
	return err
}
