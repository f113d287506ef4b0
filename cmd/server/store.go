package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/redisconn"
	"github.com/sessiond/sessiond/internal/session"
	"github.com/sessiond/sessiond/internal/session/filestore"
	"github.com/sessiond/sessiond/internal/session/redisstore"
)

// store is the opened session store.
type store struct {
	backend session.Backend
	keys    [][]byte              // signing keys, the first signs
	redis   redis.UniversalClient // nil for the filesystem store
	close   func()
}

// openStore opens the configured session store with its signing keys,
// writing cfg.StoreLayout. foreign is told of what the store meets under
// its names that it did not write.
func openStore(ctx context.Context, cfg config, log *slog.Logger, foreign func(record, reason string)) (store, error) {
	if cfg.Store == "redis" {
		client, err := redisconn.Open(cfg.RedisURL, redisconn.Options{Timeout: cfg.StoreTimeout})
		if err != nil {
			return store{}, fmt.Errorf("REDIS_URL: %w", err) // checked by loadConfig already
		}
		pctx, cancel := context.WithTimeout(ctx, cfg.StoreTimeout)
		defer cancel()
		if err := client.Ping(pctx).Err(); err != nil {
			// Not fatal: /readyz answers 503 until Redis does (and checks
			// its version then).
			log.Warn("redis does not answer yet", "err", err)
		} else if err := redisstore.CheckVersion(pctx, client); errors.Is(err, redisstore.ErrTooOld) {
			_ = client.Close()
			return store{}, &configError{problems: []string{"REDIS_URL: " + err.Error()}}
		} else if err != nil {
			log.Warn("redis version not known yet", "err", err)
		}
		log.Info("session store", "store", "redis", "topology", cfg.RedisKind, "redis", redisconn.Describe(cfg.RedisURL), "key_prefix", cfg.RedisKeyPrefix,
			"layout", int(cfg.StoreLayout))
		opts := []redisstore.Option{redisstore.OnForeign(foreign)}
		if cfg.OTLPEndpoint != "" {
			// Batched loads and writes would run outside the requests' traces.
			opts = append(opts, redisstore.PlainCommands())
		}
		backend := redisstore.New(client, opts...).WithLayout(cfg.StoreLayout)
		if cfg.RedisWaitReplicas > 0 {
			// Half the call's budget for the replicas' acknowledgement.
			backend = redisstore.WithWait(backend, cfg.RedisWaitReplicas, cfg.StoreTimeout/2)
			log.Info("logins and logouts wait for replicas", "replicas", cfg.RedisWaitReplicas, "timeout", cfg.StoreTimeout/2)
		}
		return store{backend: backend, keys: cfg.Secrets, redis: client, close: func() { _ = client.Close() }}, nil
	}
	dir, err := filepath.Abs(cfg.SessionDir)
	if err != nil {
		return store{}, fmt.Errorf("SESSION_DIR: %w", err)
	}
	files, err := filestore.New(dir)
	if err != nil {
		return store{}, err
	}
	keys := cfg.Secrets
	if keys == nil {
		key, err := fileSecret(dir)
		if err != nil {
			_ = files.Close()
			return store{}, err
		}
		keys = [][]byte{key}
	}
	log.Info("session store", "store", "filesystem", "dir", dir)
	return store{backend: files.ForLayout(cfg.StoreLayout), keys: keys, close: func() { _ = files.Close() }}, nil
}
