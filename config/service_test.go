package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/config"
)

// webhookDoc is a valid [[webhook]] appended to testdata/valid.toml.
const webhookDoc = `
[[webhook]]
name       = "crm"
url        = "https://crm.example.com/idpsync"
secret_env = "CRM_WEBHOOK_SECRET"
timeout    = "5s"

[[webhook]]
name        = "audit"
url         = "http://127.0.0.1:9000/hook"
secret_file = "audit.secret"
max_backoff = "1m"

[ui]
password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
session_ttl   = "8h"
`

// webhookDoc's first [[webhook]] is on line webhookLine+1 of the document.
const webhookLine = 36

func TestServiceKeys(t *testing.T) {
	c := parse(t, "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n"+readValid(t)+webhookDoc)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	if len(c.Webhooks) != 2 || c.Webhooks[0].Name != "crm" || c.Webhooks[1].SecretFile != "audit.secret" || c.Webhooks[0].Timeout != "5s" {
		t.Errorf("webhooks = %+v", c.Webhooks)
	}
	if got := c.UI.SessionDuration(); got != 8*time.Hour {
		t.Errorf("session_ttl = %v, want 8h", got)
	}
	if !c.TLS() || c.TLSCert != "cert.pem" {
		t.Errorf("TLS() = %v, tls_cert %q", c.TLS(), c.TLSCert)
	}
	if got := parse(t, "[rules]\nroles = [\"A\"]\n").UI.SessionDuration(); got != 12*time.Hour {
		t.Errorf("default session_ttl = %v, want 12h", got)
	}
}

func TestServiceKeysInvalid(t *testing.T) {
	base := readValid(t) + webhookDoc
	tests := []struct {
		name string
		doc  string
		key  string
		line int
		msg  string
	}{
		{"tls_cert without tls_key", "tls_cert = \"c.pem\"\n" + base, "tls_key", 0, "required when tls_cert is set"},
		{"tls_key without tls_cert", "tls_key = \"k.pem\"\n" + base, "tls_cert", 0, "required when tls_key is set"},
		{"duplicate webhook name", strings.Replace(base, `name        = "audit"`, `name        = "crm"`, 1), "webhook[1].name", webhookLine + 8, `duplicate webhook name "crm" (also webhook[0])`},
		{"webhook url not http", strings.Replace(base, `"https://crm.example.com/idpsync"`, `"ftp://crm.example.com"`, 1), "webhook[0].url", webhookLine + 3, "ftp://crm.example.com"},
		{"webhook with both secrets", strings.Replace(base, `secret_env = "CRM_WEBHOOK_SECRET"`, "secret_env = \"X\"\nsecret_file = \"y\"", 1), "webhook[0].secret_env, secret_file", webhookLine + 1, "not both"},
		{"webhook without a secret", strings.Replace(base, `secret_env = "CRM_WEBHOOK_SECRET"`, ``, 1), "webhook[0].secret_env or secret_file", webhookLine + 1, "required"},
		{"webhook timeout", strings.Replace(base, `timeout    = "5s"`, `timeout = "soon"`, 1), "webhook[0].timeout", webhookLine + 5, `"soon"`},
		{"webhook max_backoff", strings.Replace(base, `max_backoff = "1m"`, `max_backoff = "-1m"`, 1), "webhook[1].max_backoff", webhookLine + 11, `"-1m"`},
		{"ui password in clear", strings.Replace(base, `"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"`, `"hunter2"`, 1), "ui.password_hash", webhookLine + 14, "never the password"},
		{"ui session_ttl", strings.Replace(base, `session_ttl   = "8h"`, `session_ttl = "8 hours"`, 1), "ui.session_ttl", webhookLine + 15, `"8 hours" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblem(t, parse(t, tt.doc).Validate(), tt.key, tt.line, tt.msg)
		})
	}
	t.Run("unknown key in a webhook", func(t *testing.T) {
		_, err := config.Parse(strings.NewReader(strings.Replace(base, `timeout    = "5s"`, `timout = "5s"`, 1)))
		checkProblem(t, err, "webhook[0].timout", webhookLine+5, "unknown key ([[webhook]] keys are name, url, secret_env, secret_file, timeout, max_backoff")
	})
	t.Run("unknown key in [ui]", func(t *testing.T) {
		_, err := config.Parse(strings.NewReader(strings.Replace(base, `session_ttl   = "8h"`, `password = "x"`, 1)))
		checkProblem(t, err, "ui.password", webhookLine+15, "unknown key ([ui] keys are password_hash, session_ttl, secure_cookie)")
	})
}

// Load resolves the TLS files and webhook secret files against the config's
// folder; LoadCertificate reads them and names the key when it cannot.
func TestLoadCertificate(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	path := filepath.Join(dir, "config.toml")
	doc := "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n" + readValid(t) + webhookDoc
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLSCert != filepath.Join(dir, "cert.pem") || c.Webhooks[1].SecretFile != filepath.Join(dir, "audit.secret") {
		t.Errorf("paths not resolved: tls_cert %q, webhook[1].secret_file %q", c.TLSCert, c.Webhooks[1].SecretFile)
	}
	cert, err := c.LoadCertificate()
	if err != nil || cert.Leaf == nil || cert.Leaf.Subject.CommonName != "idpsync test" {
		t.Fatalf("LoadCertificate = %v, %v", cert, err)
	}
	c.TLSKey = filepath.Join(dir, "missing.pem")
	_, err = c.LoadCertificate()
	if err == nil || !strings.HasPrefix(err.Error(), path+":1: tls_cert: ") || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("error %q does not start with the file, line and key", err)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idpsync test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}
