package config

import (
	"crypto/tls"
	"os"
	"sort"
	"strings"
)

// CheckStart reads what `serve` reads at start beyond the file itself, so
// that `check-config` (the unit's ExecStartPre) fails where serve would:
// tls_cert and tls_key must load; the secret files the enabled sources and
// the webhooks name must be readable and the environment variables they
// name set; the enabled pull sources must open (an Okta private key parses,
// an Entra certificate loads). It reads secrets and forgets them; Validate
// does not touch the disk, this does. Validate the configuration first.
//
// Problems name their key and line, as Validate's do, in one EINVALID
// error. Warnings (file and line filled in) are what serve starts with but
// is likely a mistake: a SCIM source's token_env not set, which leaves the
// source only the tokens made with `idpsync tokens create`.
func (c *Config) CheckStart() (warnings Errors, err error) {
	var errs Errors
	if c.TLS() {
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			errs.add("tls_cert", "loading the certificate and tls_key: %v", err)
		}
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.IsEnabled() {
			c.checkSource(indexKey("source", i), s, &errs, &warnings)
		}
	}
	for i, w := range c.Webhooks {
		if err := w.CheckSecret(); err != nil {
			sub, msg, _ := strings.Cut(err.Error(), ": ")
			errs.add(joinKey(indexKey("webhook", i), sub), "%s", msg)
		}
	}
	return c.locate(warnings), c.fail(errs)
}

// checkSource checks what an enabled source reads at start: its secrets,
// each by its key, then (if they are all there) the source opened as serve
// opens it, which reads its key files and certificates.
func (c *Config) checkSource(key string, s *Source, errs, warnings *Errors) {
	n := len(*errs)
	switch {
	case s.SCIM != nil:
		if v := s.SCIM.TokenEnv; v != "" && !envSet(v) {
			warnings.add(key+".token_env", "environment variable %s is not set or empty: the source takes only the tokens made with `idpsync tokens create`", v)
		}
		if f := s.SCIM.TokenFile; f != "" {
			if _, err := os.ReadFile(f); err != nil {
				errs.add(key+".token_file", "%v", err)
			}
		}
		return // nothing to open: the IdP pushes
	case s.Okta != nil:
		checkEnv(errs, key+".token_env", s.Okta.TokenEnv)
		checkSecretFile(errs, key+".token_file", s.Okta.TokenFile)
		checkFile(errs, key+".private_key_file", s.Okta.PrivateKeyFile)
	case s.Entra != nil:
		checkEnv(errs, key+".client_secret_env", s.Entra.ClientSecretEnv)
		checkSecretFile(errs, key+".client_secret_file", s.Entra.ClientSecretFile)
		checkFile(errs, key+".certificate_file", s.Entra.CertificateFile)
		checkFile(errs, key+".ca_file", s.Entra.CAFile)
	}
	if len(*errs) > n {
		return // opening would only say it again
	}
	var err error
	switch {
	case s.File != nil:
		_, err = s.File.Open(s.Name, nil)
	case s.Okta != nil:
		_, err = s.Okta.Open(s.Name, nil)
	case s.Entra != nil:
		_, err = s.Entra.Open(s.Name, nil)
	}
	if err != nil {
		errs.add(key, "%v", err)
	}
}

// checkEnv checks that the environment variable an optional key names is
// set and not blank.
func checkEnv(errs *Errors, key, name string) {
	if name != "" && !envSet(name) {
		errs.add(key, "environment variable %s is not set or empty", name)
	}
}

func envSet(name string) bool { return strings.TrimSpace(os.Getenv(name)) != "" }

// checkSecretFile checks that the file an optional key names reads and
// holds more than white space.
func checkSecretFile(errs *Errors, key, path string) {
	if path == "" {
		return
	}
	b, err := os.ReadFile(path)
	switch {
	case err != nil:
		errs.add(key, "%v", err)
	case strings.TrimSpace(string(b)) == "":
		errs.add(key, "%s is empty", path)
	}
}

// checkFile checks that the file an optional key names reads.
func checkFile(errs *Errors, key, path string) {
	if path == "" {
		return
	}
	if _, err := os.ReadFile(path); err != nil {
		errs.add(key, "%v", err)
	}
}

// locate fills in the file and the lines of errs' keys, and sorts them by line.
func (c *Config) locate(errs Errors) Errors {
	for i := range errs {
		errs[i].File = c.path
		if errs[i].Line == 0 {
			errs[i].Line = c.line(errs[i].Key)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs
}
