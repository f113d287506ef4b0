package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// fileSecret returns the signing key kept in dir/secret, generating it
// once (32 random bytes, hex) with mode 0600. Processes starting at once
// agree on one key: it is written whole to a temporary file and linked into
// place, which fails if another got there first.
func fileSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "secret")
	if key, err := readSecret(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // never fails (crypto/rand)
	tmp, err := os.CreateTemp(dir, ".secret-*")
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if err := errors.Join(werr, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return readSecret(path)
}

func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err) // fs.ErrNotExist stays visible
	}
	key := strings.TrimSpace(string(b))
	if len(key) < minSecretLen {
		return nil, fmt.Errorf("secret: %s holds %d bytes, want at least %d", path, len(key), minSecretLen)
	}
	return []byte(key), nil
}
