package entra

import (
	"fmt"
	"slices"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// userProps are the Graph user properties a mapping may name, with how to
// read each. Directory extensions (extension_<appid>_<name>) are read from
// the object's ext.
var userProps = map[string]func(*object) string{
	"id":                          func(u *object) string { return u.ID },
	"userPrincipalName":           func(u *object) string { return u.UserPrincipalName },
	"mail":                        func(u *object) string { return u.Mail },
	"displayName":                 func(u *object) string { return u.DisplayName },
	"givenName":                   func(u *object) string { return u.GivenName },
	"surname":                     func(u *object) string { return u.Surname },
	"employeeId":                  func(u *object) string { return u.EmployeeID },
	"employeeType":                func(u *object) string { return u.EmployeeType },
	"mailNickname":                func(u *object) string { return u.MailNickname },
	"jobTitle":                    func(u *object) string { return u.JobTitle },
	"department":                  func(u *object) string { return u.Department },
	"companyName":                 func(u *object) string { return u.CompanyName },
	"userType":                    func(u *object) string { return u.UserType },
	"onPremisesSamAccountName":    func(u *object) string { return u.OnPremisesSamAccountName },
	"onPremisesImmutableId":       func(u *object) string { return u.OnPremisesImmutableID },
	"onPremisesUserPrincipalName": func(u *object) string { return u.OnPremisesUserPrincipalName },
}

func knownProperty(p string) bool {
	_, ok := userProps[p]
	return ok || (strings.HasPrefix(p, "extension_") && len(p) > len("extension_"))
}

type mapped struct {
	key  string // config key
	prop string // Graph property
	set  func(*reconcile.User, string)
}

func (c Config) mapping() []mapped {
	return []mapped{
		{"user_name", c.UserName, func(u *reconcile.User, v string) { u.UserName = v }},
		{"email", c.Email, func(u *reconcile.User, v string) { u.Email = v }},
		{"display_name", c.DisplayName, func(u *reconcile.User, v string) { u.DisplayName = v }},
		{"given_name", c.GivenName, func(u *reconcile.User, v string) { u.GivenName = v }},
		{"family_name", c.FamilyName, func(u *reconcile.User, v string) { u.FamilyName = v }},
		{"external_id", c.ExternalID, func(u *reconcile.User, v string) { u.ExternalID = v }},
	}
}

// selectProps is the $select of a user: what the mapping reads, accountEnabled,
// and what a group needs (members come back as users and groups alike).
func (c Config) selectProps() []string {
	s := []string{"id", "displayName", "accountEnabled"}
	for _, m := range c.mapping() {
		if !slices.Contains(s, m.prop) {
			s = append(s, m.prop)
		}
	}
	return s
}

// extensions are the directory extensions the mapping reads.
func (c Config) extensions() []string {
	var out []string
	for _, m := range c.mapping() {
		if _, ok := userProps[m.prop]; !ok && !slices.Contains(out, m.prop) {
			out = append(out, m.prop)
		}
	}
	return out
}

// toUser maps a Graph user. A user without accountEnabled is inactive: Graph
// always returns it when selected, so its absence is not a reason to grant.
func (c Config) toUser(g *object) (reconcile.User, error) {
	u := reconcile.User{ID: g.ID, Active: g.AccountEnabled}
	if u.ID == "" {
		return u, fmt.Errorf("a user without an id")
	}
	for _, m := range c.mapping() {
		m.set(&u, readProp(g, m.prop))
	}
	return u, nil
}

func readProp(u *object, prop string) string {
	if get, ok := userProps[prop]; ok {
		return get(u)
	}
	return u.ext[prop]
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
