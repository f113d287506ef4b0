package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// httpClient is a bounded Go HTTP client for setting up sessions: it never
// follows redirects and keeps a few connections.
type httpClient struct{ hc *http.Client }

func newHTTPClient(conns int) *httpClient {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second}
	return &httpClient{hc: &http.Client{
		Transport:     tr,
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *httpClient) close() { c.hc.CloseIdleConnections() }

// do sends a request with an optional cookie ("name=value") and form, and
// returns the status, the session cookie it set ("" if none) and the body.
func (c *httpClient) do(ctx context.Context, method, u, cookie string, form url.Values) (int, string, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, "", "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	set := ""
	for _, ck := range resp.Cookies() {
		if ck.Name == "session" && ck.MaxAge >= 0 && ck.Value != "" {
			set = ck.Name + "=" + ck.Value
		}
	}
	return resp.StatusCode, set, string(b), nil
}

// login posts a name without a cookie and returns the new session cookie.
func (c *httpClient) login(ctx context.Context, base, name string) (string, error) {
	code, set, body, err := c.do(ctx, "POST", base+"/login", "", url.Values{"name": {name}})
	if err != nil {
		return "", err
	}
	if code/100 != 3 || set == "" {
		return "", fmt.Errorf("login %q: status %d, cookie %q: %.200s", name, code, set, body)
	}
	return set, nil
}

// post sends a form with cookie and wants a redirect; a changed cookie is
// returned (else cookie itself).
func (c *httpClient) post(ctx context.Context, base, path, cookie string, form url.Values) (string, error) {
	code, set, body, err := c.do(ctx, "POST", base+path, cookie, form)
	if err != nil {
		return "", err
	}
	if code/100 != 3 {
		return "", fmt.Errorf("POST %s: status %d: %.200s", path, code, body)
	}
	if set != "" {
		return set, nil
	}
	return cookie, nil
}

// parallel runs fn(i) for i in [0,n) on workers goroutines, stopping at the
// first error or the deadline. It returns how many calls succeeded.
func parallel(ctx context.Context, n, workers int, deadline time.Time, fn func(ctx context.Context, i int) error) (int, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var next, ok atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if first == nil && int(ok.Load()) < n {
		first = fmt.Errorf("stopped after %d of %d: %w", ok.Load(), n, context.DeadlineExceeded)
	}
	return int(ok.Load()), first
}
