package filestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sessiond/sessiond/internal/session"
)

// read returns the live record under key (a session, a forward or an
// index), or nil when it is missing or expired.
func (f *Store) read(key string) (*fileRecord, error) {
	r, err := readFile(f.path(key))
	if err != nil || r == nil {
		return nil, err
	}
	if r.Key != key {
		return nil, nil // a foreign file under a colliding name: absent
	}
	if r.V != 0 && !r.V.Known() {
		return nil, nil // written in a layout this release does not read
	}
	if r.ExpireAt != 0 && r.ExpireAt <= f.now().UnixMilli() {
		return nil, nil
	}
	return r, nil
}

// readFile reads a record file; a missing or corrupt file is nil.
func readFile(p string) (*fileRecord, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("files store read: %w", err)
	}
	var r fileRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil // corrupt: treated as absent
	}
	if r.RawFields != nil {
		r.Fields = make(map[string]string, len(r.RawFields))
		for k, v := range r.RawFields {
			r.Fields[k] = string(v)
		}
		r.RawFields = nil
	}
	return &r, nil
}

// write lands r's file by rename and syncs the folder.
func (f *Store) write(r *fileRecord) error {
	disk := *r
	if disk.V == 0 && f.layout != session.Layout1 {
		disk.V = f.layout
	}
	if r.Fields != nil {
		disk.RawFields = make(map[string][]byte, len(r.Fields))
		for k, v := range r.Fields {
			disk.RawFields[k] = []byte(v)
		}
	}
	b, err := json.Marshal(&disk)
	if err != nil {
		return err
	}
	p := f.path(r.Key)
	tmp, err := os.CreateTemp(f.data, ".tmp-*")
	if err != nil {
		return fmt.Errorf("files store write: %w", err)
	}
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("files store write: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("files store write: %w", err)
	}
	return f.syncDir()
}

// remove deletes key's file and syncs the folder.
func (f *Store) remove(key string) error {
	if err := os.Remove(f.path(key)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("files store delete: %w", err)
	}
	return f.syncDir()
}

// syncDir makes the folder's entries (renames, removals) durable.
func (f *Store) syncDir() error {
	d, err := os.Open(f.data)
	if err != nil {
		return fmt.Errorf("files store sync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("files store sync: %w", err)
	}
	return nil
}
