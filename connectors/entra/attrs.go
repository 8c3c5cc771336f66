package entra

import (
	"fmt"
	"slices"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/idpsync/idpsync/reconcile"
)

// userProps are the Graph user properties a mapping may name, with how to
// read each. Directory extensions (extension_<appid>_<name>) are read from
// the additional data.
var userProps = map[string]func(models.Userable) *string{
	"id":                          func(u models.Userable) *string { return u.GetId() },
	"userPrincipalName":           func(u models.Userable) *string { return u.GetUserPrincipalName() },
	"mail":                        func(u models.Userable) *string { return u.GetMail() },
	"displayName":                 func(u models.Userable) *string { return u.GetDisplayName() },
	"givenName":                   func(u models.Userable) *string { return u.GetGivenName() },
	"surname":                     func(u models.Userable) *string { return u.GetSurname() },
	"employeeId":                  func(u models.Userable) *string { return u.GetEmployeeId() },
	"employeeType":                func(u models.Userable) *string { return u.GetEmployeeType() },
	"mailNickname":                func(u models.Userable) *string { return u.GetMailNickname() },
	"jobTitle":                    func(u models.Userable) *string { return u.GetJobTitle() },
	"department":                  func(u models.Userable) *string { return u.GetDepartment() },
	"companyName":                 func(u models.Userable) *string { return u.GetCompanyName() },
	"userType":                    func(u models.Userable) *string { return u.GetUserType() },
	"onPremisesSamAccountName":    func(u models.Userable) *string { return u.GetOnPremisesSamAccountName() },
	"onPremisesImmutableId":       func(u models.Userable) *string { return u.GetOnPremisesImmutableId() },
	"onPremisesUserPrincipalName": func(u models.Userable) *string { return u.GetOnPremisesUserPrincipalName() },
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

// toUser maps a Graph user. A user without accountEnabled is inactive: Graph
// always returns it when selected, so its absence is not a reason to grant.
func (c Config) toUser(g models.Userable) (reconcile.User, error) {
	u := reconcile.User{ID: deref(g.GetId())}
	if u.ID == "" {
		return u, fmt.Errorf("a user without an id")
	}
	for _, m := range c.mapping() {
		m.set(&u, readProp(g, m.prop))
	}
	if e := g.GetAccountEnabled(); e != nil {
		u.Active = *e
	}
	return u, nil
}

func readProp(u models.Userable, prop string) string {
	if get, ok := userProps[prop]; ok {
		return deref(get(u))
	}
	switch v := u.GetAdditionalData()[prop].(type) {
	case *string:
		return deref(v)
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
