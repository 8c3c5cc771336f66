package reconcile

// Hooks are called after the engine's writes, outside any transaction and
// in the goroutine that wrote. They must be quick and must not call back
// into the engine. Set them before the engine is used.
type Hooks struct {
	// Applied is called after a plan was applied: a sync, a push, a rules
	// change, an approval, a manual user, a source removal.
	Applied func(p *Plan)
	// Ran is called after a pull run was recorded, whatever its outcome.
	Ran func(r *Run)
}

// SetHooks sets the hooks (replacing any set before).
func (e *Engine) SetHooks(h Hooks) {
	e.sigMu.Lock()
	e.hooks = h
	e.sigMu.Unlock()
}

// ChangeSignal returns a channel closed when the next plan is applied. To
// wait for changes after sequence N without missing one: take the channel,
// then read the change log after N, and wait on the channel only if that
// read found nothing.
func (e *Engine) ChangeSignal() <-chan struct{} {
	e.sigMu.Lock()
	defer e.sigMu.Unlock()
	if e.sig == nil {
		e.sig = make(chan struct{})
	}
	return e.sig
}

// applied wakes the waiters and calls the Applied hook.
func (e *Engine) applied(p *Plan) {
	e.sigMu.Lock()
	if e.sig != nil {
		close(e.sig)
		e.sig = nil
	}
	h := e.hooks.Applied
	e.sigMu.Unlock()
	if h != nil {
		h(p)
	}
}

// ran calls the Ran hook.
func (e *Engine) ran(r *Run) {
	e.sigMu.Lock()
	h := e.hooks.Ran
	e.sigMu.Unlock()
	if h != nil {
		h(r)
	}
}
