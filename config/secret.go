package config

import (
	"fmt"
	"os"
	"strings"
)

// Secret returns the secret a connector's key names (a token, a client
// secret), given exactly one way: inline, the value written in config.toml;
// file, the path of a file holding it (as systemd credentials and Kubernetes
// secrets are mounted); or env, the name of an environment variable holding
// it. A value read from a file or the environment is trimmed of surrounding
// white space. Errors start with key, as Validate's do.
func Secret(key, inline, file, env string) (string, error) {
	given := 0
	for _, s := range []string{inline, file, env} {
		if s != "" {
			given++
		}
	}
	switch {
	case given == 0:
		return "", fmt.Errorf("%s: required: give the secret in a file or an environment variable", key)
	case given > 1:
		return "", fmt.Errorf("%s: give the secret one way only: inline, in a file or in an environment variable", key)
	case inline != "":
		return inline, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: read secret file: %w", key, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%s: secret file %s is empty", key, file)
		}
		return v, nil
	}
	v, ok := os.LookupEnv(env)
	if !ok {
		return "", fmt.Errorf("%s: environment variable %s is not set", key, env)
	}
	if v = strings.TrimSpace(v); v == "" {
		return "", fmt.Errorf("%s: environment variable %s is empty", key, env)
	}
	return v, nil
}
