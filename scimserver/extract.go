package scimserver

import (
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// UserFromResource is what a stored User resource asserts to the core:
//
//   - displayName, else name.formatted, else givenName and familyName;
//   - email: the primary email, else the first of type work, else the first;
//   - active: true unless the resource says false ("False" too).
//
// id is the resource's SCIM id, the source's id for the user.
func UserFromResource(id string, res map[string]any) reconcile.User {
	name := lookupMap(res, "name")
	given, family := lookupString(name, "givenName"), lookupString(name, "familyName")
	display := lookupString(res, "displayName")
	if strings.TrimSpace(display) == "" {
		display = lookupString(name, "formatted")
	}
	if strings.TrimSpace(display) == "" {
		display = strings.TrimSpace(given + " " + family)
	}
	active := true
	if _, v, ok := Lookup(res, "active"); ok {
		if b, ok := parseBool(v); ok {
			active = b
		}
	}
	return reconcile.User{
		ID:          id,
		UserName:    lookupString(res, "userName"),
		DisplayName: display,
		Email:       primaryEmail(res),
		GivenName:   given,
		FamilyName:  family,
		ExternalID:  lookupString(res, "externalId"),
		Active:      active,
	}
}

func primaryEmail(res map[string]any) string {
	_, v, _ := Lookup(res, "emails")
	emails, _ := v.([]any)
	var work, first string
	for _, e := range emails {
		m, _ := e.(map[string]any)
		value := lookupString(m, "value")
		if value == "" {
			continue
		}
		if isPrimary(m) {
			return value
		}
		if work == "" && strings.EqualFold(lookupString(m, "type"), "work") {
			work = value
		}
		if first == "" {
			first = value
		}
	}
	if work != "" {
		return work
	}
	return first
}

// GroupFromResource is what a stored Group resource asserts to the core:
// its displayName and member ids, in order.
func GroupFromResource(id string, res map[string]any) reconcile.Group {
	return reconcile.Group{ID: id, DisplayName: lookupString(res, "displayName"), Members: memberIDs(res)}
}
