package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// healthcheck is `sessiond healthcheck`, for a container HEALTHCHECK with
// no shell or curl: nil when /healthz answers 200.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	u, err := healthcheckURL(getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", u, resp.Status)
	}
	return nil
}
