package connectortest

import "github.com/idpsync/idpsync/reconcile"

// smallDirectory is a hand-written directory: users with every attribute and
// with only the required ones, an inactive user (in a group) and one in no
// group, a group nested in another, and a user in two groups.
func smallDirectory() *reconcile.Directory {
	return &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "u1", UserName: "ann.lee@example.com", DisplayName: "Ann Lee", Email: "ann.lee@example.com",
				GivenName: "Ann", FamilyName: "Lee", ExternalID: "E1001", Active: true},
			{ID: "u2", UserName: "bruno.costa@example.com", DisplayName: "Bruno Costa", Email: "bruno.costa@example.com",
				GivenName: "Bruno", FamilyName: "Costa", ExternalID: "E1002", Active: true},
			{ID: "u3", UserName: "chen.wei@example.com", Active: true},
			{ID: "u4", UserName: "dana.levi@example.com", DisplayName: "Dana Levi", Email: "dana@example.org",
				GivenName: "Dana", FamilyName: "Levi", Active: false},
			{ID: "u5", UserName: "eve.adams@example.com", DisplayName: "Eve Adams", Active: false},
		},
		Groups: []reconcile.Group{
			{ID: "g1", DisplayName: "ph-admin", Members: []string{"u1"}},
			{ID: "g2", DisplayName: "ph-csm", Members: []string{"u2", "g3"}},
			{ID: "g3", DisplayName: "Engineering", Members: []string{"u2", "u3", "u4"}},
		},
	}
}

// nestedDirectory nests groups three deep, and one group in two parents.
func nestedDirectory() *reconcile.Directory {
	return &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "u1", UserName: "top@example.com", Active: true},
			{ID: "u2", UserName: "middle@example.com", Active: true},
			{ID: "u3", UserName: "leaf@example.com", Active: true},
		},
		Groups: []reconcile.Group{
			{ID: "g-top", DisplayName: "Everyone", Members: []string{"u1", "g-mid"}},
			{ID: "g-mid", DisplayName: "Engineering", Members: []string{"g-leaf", "u2"}},
			{ID: "g-leaf", DisplayName: "Platform", Members: []string{"u3"}},
			{ID: "g-other", DisplayName: "On call", Members: []string{"g-leaf"}},
			{ID: "g-only-groups", DisplayName: "Departments", Members: []string{"g-mid", "g-other"}},
		},
	}
}

// unicodeDirectory has names that trip up encoders: non-ASCII letters,
// commas, quotes, apostrophes, semicolons and emoji.
func unicodeDirectory() *reconcile.Directory {
	return &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "u1", UserName: "zoe@example.com", DisplayName: "Zoë Ångström", GivenName: "Zoë", FamilyName: "Ångström",
				Email: "zoe@example.com", Active: true},
			{ID: "u2", UserName: "li.lei@example.com", DisplayName: "李雷", GivenName: "雷", FamilyName: "李", Active: true},
			{ID: "u3", UserName: "obrien@example.com", DisplayName: "O'Brien, Jr., Patrick", GivenName: "Patrick",
				FamilyName: "O'Brien, Jr.", ExternalID: "E-1,003", Active: true},
			{ID: "u4", UserName: "rock@example.com", DisplayName: `Dwayne "The Rock" Johnson`, GivenName: `"Dwayne"`,
				FamilyName: `Johnson; \ "Esq."`, Active: true},
			{ID: "u5", UserName: "josé.garcía@example.com", DisplayName: "José García 🚀", Active: false},
		},
		Groups: []reconcile.Group{
			{ID: "g1", DisplayName: "R&D, Europe", Members: []string{"u1", "u3"}},
			{ID: "g2", DisplayName: `"Quoted" team`, Members: []string{"u4", "g3"}},
			{ID: "g3", DisplayName: "営業部 – Ventes Québec", Members: []string{"u2", "u5"}},
		},
	}
}

// change changes d the way a directory changes between two syncs: a rename,
// a deactivation, a user gone, a user new, memberships moved, a group gone.
func change(d *reconcile.Directory) {
	d.Users[0].DisplayName = "Ann Lee-Park"
	d.Users[0].FamilyName = "Lee-Park"
	d.Users[1].Active = false
	d.Users = append(d.Users[:2], d.Users[3:]...) // u3 left
	d.Users = append(d.Users, reconcile.User{ID: "u6", UserName: "fiona.ng@example.com", DisplayName: "Fiona Ng", Active: true})
	d.Groups = []reconcile.Group{
		{ID: "g1", DisplayName: "ph-admin", Members: []string{"u1", "u6"}},
		{ID: "g3", DisplayName: "Engineering (all)", Members: []string{"u4"}},
	}
}
