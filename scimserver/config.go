package scimserver

import "errors"

// SourceConfig is the TOML of a push source (type = "scim"). Its bearer
// tokens are made with `idpsync tokens create --source NAME` and kept
// hashed in the store; a token may also come from the environment or a
// file, so `serve` is usable at once without the CLI.
type SourceConfig struct {
	// TokenEnv names an environment variable holding a token for this source.
	TokenEnv string `toml:"token_env"`
	// TokenFile is a file holding a token for this source (trimmed).
	TokenFile string `toml:"token_file"`
}

// Validate checks the keys; a missing variable or file is not an error
// here (the source then takes only the tokens made with the CLI).
func (c *SourceConfig) Validate() []error {
	var errs []error
	if c.TokenEnv != "" && !validEnvName(c.TokenEnv) {
		errs = append(errs, errors.New("token_env: "+c.TokenEnv+" is not an environment variable name"))
	}
	return errs
}

func validEnvName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}
