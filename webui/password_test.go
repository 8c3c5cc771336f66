package webui

import "testing"

// Hashes of "correct horse battery staple" made by other tools:
// `argon2 saltsaltsalt -id -t 2 -m 12 -p 2 -e` (Debian's argon2) and
// `htpasswd -nbB -C 5` (Debian's apache2-utils).
const (
	argonHash  = "$argon2id$v=19$m=4096,t=2,p=2$c2FsdHNhbHRzYWx0$8uOgqpgxxoODaES9HcsTitvbbJ6o2NmCMQsfalkMcxA"
	bcryptHash = "$2y$05$kZrXaBua4SjW4f4GoOZavuP7bCsSzy6F57RpQlEVrTT9uQnhLTNB6"
)

func TestPasswordHashes(t *testing.T) {
	check, err := parsePasswordHash(argonHash)
	if err != nil {
		t.Fatal(err)
	}
	if !check("correct horse battery staple") || check("correct horse battery stapler") || check("") {
		t.Error("argon2id: the right password refused or a wrong one accepted")
	}
	check, err = parsePasswordHash(bcryptHash)
	if err != nil {
		t.Fatal(err)
	}
	if !check("correct horse battery staple") || check("Correct horse battery staple") {
		t.Error("bcrypt: the right password refused or a wrong one accepted")
	}
	for _, bad := range []string{
		"hunter2",
		"$argon2id$v=19$m=4096,t=2,p=2$c2FsdA", // no hash part
		"$argon2id$v=16$m=4096,t=2,p=2$c2FsdHNhbHRzYWx0$8uOgqpgxxoODaES9HcsTit", // another version
		"$argon2id$v=19$m=99999999,t=2,p=2$c2FsdHNhbHRzYWx0$8uOgqpgxxoODaES9HcsTitvbbJ6o2NmCMQsfalkMcxA",
		"$argon2id$v=19$m=4096,t=2,p=2$c2FsdHNhbHRzYWx0$!!",
		"$2b$10$tooShort",
	} {
		if _, err := parsePasswordHash(bad); err == nil {
			t.Errorf("parsePasswordHash(%q) accepted it", bad)
		}
	}
}
