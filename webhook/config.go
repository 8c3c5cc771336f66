// Package webhook delivers every applied change batch to configured URLs,
// signed with HMAC-SHA256, in order and at least once.
package webhook

// Config is one [[webhook]] of config.toml.
type Config struct {
	Name       string `toml:"name"`        // identifies its delivery position in the store
	URL        string `toml:"url"`         // http(s) URL the batches are POSTed to
	SecretEnv  string `toml:"secret_env"`  // the HMAC key, from this environment variable,
	SecretFile string `toml:"secret_file"` // or from this file (set exactly one)
	Timeout    string `toml:"timeout"`     // per attempt; default 10s
	MaxBackoff string `toml:"max_backoff"` // longest wait between retries; default 5m
}
