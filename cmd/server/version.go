package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// buildInfo is what `sessiond version` prints, from the build information
// the go command stamps into the binary. Fields it did not stamp (a build
// outside a VCS checkout, or with -buildvcs=false) are "unknown".
type buildInfo struct {
	Module, Version              string
	Revision, Time, Modified, Go string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Module: "unknown", Version: "unknown", Revision: "unknown", Time: "unknown", Modified: "unknown", Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module, b.Version, b.Go = info.Main.Path, info.Main.Version, info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value
		}
	}
	return b
}

func writeVersion(w io.Writer) error {
	b := readBuildInfo()
	_, err := fmt.Fprintf(w, "sessiond %s\nmodule    %s\nrevision  %s\ntime      %s\nmodified  %s\ngo        %s %s/%s\n",
		b.Version, b.Module, b.Revision, b.Time, b.Modified, b.Go, runtime.GOOS, runtime.GOARCH)
	return err
}
