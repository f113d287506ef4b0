// Package check validates, offline, how sessiond is deployed: the
// Dockerfile, docker-compose.yml, the nginx configuration and the kustomize
// overlays under deploy/k8s. Its tests are the checks; this file holds the
// readers they share.
//
// It is a module of its own so that compose-go, kustomize and the
// Kubernetes API types stay out of the service's go.mod.
package check

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
)

// ErrNoGetenv is ServerEnvVars' error for a file that reads no variable.
var ErrNoGetenv = errors.New(`no getenv("NAME") call with a literal name`)

// ServerEnvVars returns the environment variables that the Go file at path
// reads, sorted: the string literals passed as the first argument of any call
// to a function or method named getenv or lookupEnv (any case), as in
// the server's config.go `getenv("ADDR")`.
func ServerEnvVars(path string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		var name string
		switch fn := call.Fun.(type) {
		case *ast.Ident:
			name = fn.Name
		case *ast.SelectorExpr:
			name = fn.Sel.Name
		}
		if !strings.EqualFold(name, "getenv") && !strings.EqualFold(name, "lookupenv") {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		if v, err := strconv.Unquote(lit.Value); err == nil && v != "" {
			seen[v] = true
		}
		return true
	})
	if len(seen) == 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNoGetenv)
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// EnvAllowed reports whether a deployment may set name, given the
// variables the server reads. The standard OTEL_* variables are read by the
// OpenTelemetry SDK, not by config.go; they are allowed when config.go reads
// at least one OTEL_ variable (so tracing is wired at all).
func EnvAllowed(name string, serverVars []string) bool {
	if slices.Contains(serverVars, name) {
		return true
	}
	if strings.HasPrefix(name, "OTEL_") {
		return slices.ContainsFunc(serverVars, func(v string) bool { return strings.HasPrefix(v, "OTEL_") })
	}
	return false
}

// Instruction is one Dockerfile instruction.
type Instruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string // the rest, continuation lines joined
	Line int
}

// Stage is a build stage: its FROM and what follows.
type Stage struct {
	From         string // image reference
	Name         string // AS name, if any
	Instructions []Instruction
}

// ParseDockerfile splits a Dockerfile into stages. It knows comments,
// parser directives and line continuations; it does not expand variables
// or here-documents.
func ParseDockerfile(b []byte) ([]Stage, error) {
	var (
		stages []Stage
		cur    strings.Builder
		start  int
	)
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := Instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		if in.Cmd == "FROM" {
			st := Stage{}
			for _, f := range strings.Fields(in.Args) {
				if strings.HasPrefix(f, "--") {
					continue
				}
				if st.From == "" {
					st.From = f
				} else if !strings.EqualFold(f, "AS") {
					st.Name = f
				}
			}
			stages = append(stages, st)
			return nil
		}
		if len(stages) == 0 {
			if in.Cmd == "ARG" {
				return nil
			}
			return fmt.Errorf("line %d: %s before FROM", in.Line, in.Cmd)
		}
		st := &stages[len(stages)-1]
		st.Instructions = append(st.Instructions, in)
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(strings.TrimSpace(rest) + " ")
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur.Len() != 0 {
		return nil, errors.New("Dockerfile ends inside a continued line")
	}
	if len(stages) == 0 {
		return nil, errors.New("Dockerfile has no FROM")
	}
	return stages, nil
}

// Find returns the stage's instructions of one kind.
func (s Stage) Find(cmd string) []Instruction {
	var out []Instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// SplitImage splits an image reference into its repository (registry
// included) and its tag or digest ("" when neither is given).
func SplitImage(ref string) (repo, tag string) {
	if r, d, ok := strings.Cut(ref, "@"); ok {
		return r, d
	}
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon], ref[colon+1:]
	}
	return ref, ""
}
