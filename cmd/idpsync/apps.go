package main

import (
	"context"
	"net/http"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/webhook"
	"github.com/idpsync/idpsync/webui"
)

// mountApps mounts the application API at /api/v1 and the admin UI at /ui.
// The daemon is their api.Control; closing d.stopping ends the API's long
// polls. Each API route is registered on the outer mux too, so that the
// metrics label a request with its route ("GET /api/v1/users/{id}"), not
// with the prefix.
func (d *daemon) mountApps(mux *http.ServeMux) error {
	apiHandler := http.StripPrefix("/api/v1", api.New(api.Options{
		Engine: d.engine, Store: d.store, Tokens: d.db, Control: d,
		Log: d.log.With("component", "api"), Stop: d.stopping,
	}))
	mux.Handle("/api/v1/", apiHandler) // unknown routes: the API's own JSON 404
	for _, rt := range api.Routes() {
		mux.Handle(rt.Method+" /api/v1"+rt.Path, apiHandler)
	}

	ui, err := webui.New(webui.Options{
		Engine: d.engine, Store: d.store, Queries: d.db, Control: d,
		Log:                 d.log.With("component", "ui"),
		PasswordHash:        d.cfg.UI.PasswordHash,
		SessionTTL:          d.cfg.UI.SessionDuration(),
		Secure:              d.cfg.TLS() || d.cfg.UI.SecureCookie, // secure_cookie: TLS terminated at a proxy
		AdminToken:          d.adminToken,
		ConfigTokenActivity: d.configTokenActivity,
	})
	if err != nil {
		return err
	}
	mux.Handle("/ui/", http.StripPrefix("/ui", ui))
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther))
	return nil
}

// adminToken looks up an application API token by its SHA-256 hash and
// reports its name and whether it has the admin scope: the admin UI's
// token sign-in, and its sessions' checks that the token still holds.
func (d *daemon) adminToken(ctx context.Context, hash []byte) (name string, ok bool, err error) {
	_, name, scope, err := d.db.APITokenByHash(ctx, hash)
	switch {
	case reconcile.ErrorKind(err) == reconcile.ENOTFOUND:
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return name, scope == api.ScopeAdmin, nil
}

// configTokenActivity lists the SCIM tokens of the configuration in force
// that config.toml gives, with their last use since it came in force.
func (d *daemon) configTokenActivity() []webui.TokenActivity {
	d.mu.RLock()
	auth := d.auth
	d.mu.RUnlock()
	return auth.activity()
}

// webhooks is a running webhook dispatcher.
type webhooks struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// newWebhooks checks cfgs and reads their secrets; start runs them.
func (d *daemon) newWebhooks(cfgs []webhook.Config) (*webhook.Dispatcher, error) {
	if len(cfgs) == 0 {
		return nil, nil
	}
	return webhook.New(cfgs, d.db, webhook.Feed{Changes: d.store.Changes, Signal: d.engine.ChangeSignal},
		d.log.With("component", "webhook"),
		webhook.WithAttemptHook(func(a webhook.Attempt) { d.metrics.WebhookAttempt(a.Webhook, a.Err == nil) }))
}

// startWebhooks stops the running dispatcher, if any (a batch cut off in
// flight is sent again: delivery is at least once), and runs disp.
func (d *daemon) startWebhooks(disp *webhook.Dispatcher) {
	d.stopWebhooks()
	if disp == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &webhooks{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		disp.Run(ctx)
	}()
	d.hooks = w
}

func (d *daemon) stopWebhooks() {
	if d.hooks != nil {
		d.hooks.cancel()
		<-d.hooks.done
		d.hooks = nil
	}
}
