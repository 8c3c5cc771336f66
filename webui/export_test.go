package webui

import "net/http"

// WaitSyncs waits until the runs that "Sync now" started in h (a New
// handler) have ended and told their outcome.
func WaitSyncs(h http.Handler) { h.(*ui).bg.Wait() }
