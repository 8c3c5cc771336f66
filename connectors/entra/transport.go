package entra

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// retryTransport sends each request, retrying what Graph asks to be retried:
// 429, 503 and 504 after their Retry-After (or a backoff when there is none),
// other 5xx, network errors and cut-off bodies after an exponential backoff
// with jitter. It reads each response body whole within the attempt, so the
// per-attempt timeout covers it and a cut-off body is retried rather than
// parsed. It stops waiting as soon as the request's context is done.
//
// It replaces Kiota's RetryHandler, which retries 429/503/504 only, three
// times, and whose waits do not bound the whole.
type retryTransport struct {
	next    http.RoundTripper
	retries int           // retries after the first attempt
	timeout time.Duration // per attempt
	maxWait time.Duration // longest Retry-After obeyed
	backoff time.Duration // first backoff delay
}

// maxBackoff caps one exponential backoff delay.
const maxBackoff = 30 * time.Second

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return t.next.RoundTrip(req) // cannot resend; Graph reads here are GETs
	}
	for attempt := 0; ; attempt++ {
		resp, retry, wait, err := t.once(req)
		if !retry || attempt >= t.retries {
			return resp, err
		}
		if wait < 0 {
			wait = t.backoffFor(attempt)
		}
		if wait > t.maxWait {
			if err == nil {
				return resp, nil // Graph's own error reaches the caller
			}
			return nil, err
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once makes one attempt. retry tells whether to try again, after wait (-1:
// backoff).
func (t *retryTransport) once(req *http.Request) (resp *http.Response, retry bool, wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	defer cancel()
	r := req.Clone(ctx)
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			return nil, false, 0, err
		}
	}
	resp, err = t.next.RoundTrip(r)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, false, 0, req.Context().Err()
		}
		return nil, true, -1, err // network error or attempt timeout
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		if req.Context().Err() != nil {
			return nil, false, 0, req.Context().Err()
		}
		return nil, true, -1, fmt.Errorf("reading %s: %w", req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	switch c := resp.StatusCode; {
	case c == http.StatusTooManyRequests || c == http.StatusServiceUnavailable || c == http.StatusGatewayTimeout:
		return resp, true, retryAfter(resp.Header.Get("Retry-After")), nil
	case c >= 500:
		return resp, true, -1, nil
	}
	return resp, false, 0, nil
}

// backoffFor is the delay before retry attempt+1: backoff·2^attempt, capped,
// with full jitter over its upper half.
func (t *retryTransport) backoffFor(attempt int) time.Duration {
	d := t.backoff << min(attempt, 16)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; -1 if
// absent or unreadable.
func retryAfter(h string) time.Duration {
	if h == "" {
		return -1
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
