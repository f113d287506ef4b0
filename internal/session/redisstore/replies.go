package redisstore

import (
	"errors"
	"fmt"

	"github.com/sessiond/sessiond/internal/session"
)

// statusErr maps an error status of a script reply to the engine's error.
func statusErr(list []any) error {
	if len(list) == 0 {
		return errors.New("redis: empty script reply")
	}
	switch status := replyInt(list, 0); status {
	case statusOK:
		return nil
	case statusGone:
		return session.ErrGone
	case statusMoved:
		return session.ErrMoved
	case statusExists:
		return session.ErrExists
	case statusLimit:
		return session.ErrLimit
	case statusConflict:
		return &session.ConflictError{Fields: replyStrings(list, 2)}
	default:
		return fmt.Errorf("redis: unexpected script status %d", status)
	}
}

// reportForeign reports the codes of a script's reply (see luaLib's
// foreign): two letters each, the record and the reason.
func (r *Store) reportForeign(codes string) {
	for i := 0; i+1 < len(codes); i += 2 {
		record, reason := "session", "type"
		switch codes[i] {
		case 'I':
			record = "index"
		case 'F':
			record = "forward"
		}
		if codes[i+1] == 'f' {
			reason = "format"
		}
		r.foreign(record, reason)
	}
}

func replyInt(list []any, i int) int64 {
	if i >= len(list) {
		return 0
	}
	n, _ := list[i].(int64)
	return n
}

func replyStrings(list []any, from int) []string {
	if from >= len(list) {
		return nil
	}
	out := make([]string, 0, len(list)-from)
	for _, v := range list[from:] {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

// keySlot is the Cluster slot of key.
func keySlot(key string) int {
	for i := 0; i < len(key); i++ {
		if key[i] == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j > i+1 {
						key = key[i+1 : j]
					}
					return int(crc16(key) % 16384)
				}
			}
			break
		}
	}
	return int(crc16(key) % 16384)
}

// crc16 is Redis Cluster's CRC16 (XMODEM).
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
