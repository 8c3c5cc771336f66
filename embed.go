// Package idpsync holds what the binary carries with it: the default
// configuration, used when no config file is found.
package idpsync

import _ "embed"

// DefaultConfig is the shipped config.toml.
//
//go:embed config.toml
var DefaultConfig []byte
