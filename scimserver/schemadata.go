package scimserver

// The schemas, as RFC 7643 §4 and §8.7 define them, plus the common
// attributes id, externalId and meta (§3.1), which RFC 7643 lets a schema
// list "for backward compatibility" and Entra's validator wants to discover.

// UserSchema is the core User schema with the enterprise extension.
var UserSchema = &Schema{
	ID:          UserURN,
	Name:        "User",
	Description: "User Account",
	Attributes: append(commonAttrs("User"),
		attr("userName", TypeString, "Unique identifier for the User, used to sign in; case-insensitive.").required().unique(UniqueServer),
		attr("name", TypeComplex, "The components of the user's real name.").subs(
			attr("formatted", TypeString, "The full name, formatted for display."),
			attr("familyName", TypeString, "The family name (last name)."),
			attr("givenName", TypeString, "The given name (first name)."),
			attr("middleName", TypeString, "The middle name(s)."),
			attr("honorificPrefix", TypeString, "The honorific prefix(es), e.g. 'Ms.'."),
			attr("honorificSuffix", TypeString, "The honorific suffix(es), e.g. 'III'."),
		),
		attr("displayName", TypeString, "The name of the User, suitable for display."),
		attr("nickName", TypeString, "The casual way to address the user."),
		attr("profileUrl", TypeReference, "A URI of the user's online profile.").refs("external"),
		attr("title", TypeString, "The user's title, e.g. 'Vice President'."),
		attr("userType", TypeString, "The relationship between the organization and the user."),
		attr("preferredLanguage", TypeString, "The user's preferred written or spoken language."),
		attr("locale", TypeString, "The user's default location, for localizing."),
		attr("timezone", TypeString, "The user's time zone, in IANA format."),
		attr("active", TypeBoolean, "The user's administrative status."),
		attr("password", TypeString, "Write-only; never stored or returned by idpsync.").mut(WriteOnly).returned(ReturnedNever),
		multi("emails", "Email addresses for the user.", TypeString, "work", "home", "other"),
		multi("phoneNumbers", "Phone numbers for the user.", TypeString, "work", "home", "mobile", "fax", "pager", "other"),
		multi("ims", "Instant messaging addresses for the user.", TypeString, "aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
		multi("photos", "URLs of photos of the user.", TypeReference, "photo", "thumbnail"),
		attr("addresses", TypeComplex, "Physical mailing addresses for the user.").multi().subs(
			attr("formatted", TypeString, "The full mailing address, formatted for display."),
			attr("streetAddress", TypeString, "The full street address component."),
			attr("locality", TypeString, "The city or locality component."),
			attr("region", TypeString, "The state or region component."),
			attr("postalCode", TypeString, "The zip code or postal code component."),
			attr("country", TypeString, "The country name component."),
			attr("type", TypeString, "A label for the address.").canon("work", "home", "other"),
			attr("primary", TypeBoolean, "Whether this is the primary address."),
		),
		attr("groups", TypeComplex, "The groups the user belongs to, maintained by the server.").multi().mut(ReadOnly).subs(
			attr("value", TypeString, "The id of the group.").mut(ReadOnly),
			attr("$ref", TypeReference, "The URI of the group.").refs("User", "Group").mut(ReadOnly),
			attr("display", TypeString, "The group's display name.").mut(ReadOnly),
			attr("type", TypeString, "How the membership arises.").canon("direct", "indirect").mut(ReadOnly),
		),
		multi("entitlements", "Entitlements of the user.", TypeString),
		multi("roles", "Roles of the user, as the IdP sends them.", TypeString),
		multi("x509Certificates", "X.509 certificates of the user.", TypeBinary),
	),
	Extensions: []*Schema{EnterpriseUserSchema},
}

// EnterpriseUserSchema is the enterprise User extension (RFC 7643 §4.3).
var EnterpriseUserSchema = &Schema{
	ID:          EnterpriseUserURN,
	Name:        "EnterpriseUser",
	Description: "Enterprise User",
	Attributes: []*Attribute{
		attr("employeeNumber", TypeString, "A string identifier of the user, typically assigned by the organization."),
		attr("costCenter", TypeString, "Identifies the name of a cost center."),
		attr("organization", TypeString, "Identifies the name of an organization."),
		attr("division", TypeString, "Identifies the name of a division."),
		attr("department", TypeString, "Identifies the name of a department."),
		attr("manager", TypeComplex, "The user's manager; written as an id, {\"value\": id} or [{\"value\": id}], returned as {\"value\": id}.").subs(
			attr("value", TypeString, "The id of the manager's SCIM User."),
			attr("$ref", TypeReference, "The URI of the manager's SCIM User.").refs("User"),
			attr("displayName", TypeString, "The manager's display name."),
		),
	},
}

// GroupSchema is the core Group schema.
var GroupSchema = &Schema{
	ID:          GroupURN,
	Name:        "Group",
	Description: "Group",
	Attributes: append(commonAttrs("Group"),
		attr("displayName", TypeString, "A human-readable name for the Group; group to role mappings match it exactly.").required().unique(UniqueServer),
		attr("members", TypeComplex, "A list of members of the Group.").multi().subs(
			attr("value", TypeString, "The id of the member (a User or a Group).").mut(Immutable),
			attr("$ref", TypeReference, "The URI of the member.").refs("User", "Group").mut(Immutable),
			attr("type", TypeString, "The type of the member.").canon("User", "Group").mut(Immutable),
			attr("display", TypeString, "The member's display name."),
		),
	),
}

func commonAttrs(resourceType string) []*Attribute {
	return []*Attribute{
		attr("id", TypeString, "Unique identifier of the "+resourceType+", issued by idpsync.").exact().mut(ReadOnly).returned(ReturnedAlways).unique(UniqueServer),
		attr("externalId", TypeString, "The identifier the provisioning client uses for the "+resourceType+".").exact(),
		attr("meta", TypeComplex, "Resource metadata, maintained by the server.").mut(ReadOnly).subs(
			attr("resourceType", TypeString, "The resource type.").exact().mut(ReadOnly),
			attr("created", TypeDateTime, "When the resource was created.").mut(ReadOnly),
			attr("lastModified", TypeDateTime, "When the resource was last changed.").mut(ReadOnly),
			attr("location", TypeReference, "The URI of the resource.").refs("uri").exact().mut(ReadOnly),
			attr("version", TypeString, "The version (ETag) of the resource.").exact().mut(ReadOnly),
		),
	}
}

// multi is a multi-valued attribute with the usual value, display, type and
// primary sub-attributes.
func multi(name, desc, valueType string, types ...string) *Attribute {
	value := attr("value", valueType, "The value.")
	if valueType == TypeReference {
		value.refs("external")
	}
	return attr(name, TypeComplex, desc).multi().subs(
		value,
		attr("display", TypeString, "A human-readable name, for display only."),
		attr("type", TypeString, "A label for the value's function.").canon(types...),
		attr("primary", TypeBoolean, "Whether this is the primary value; at most one is."),
	)
}

// attr starts an attribute with RFC 7643's defaults: single-valued,
// optional, case-insensitive, readWrite, returned by default, not unique.
func attr(name, typ, desc string) *Attribute {
	return &Attribute{Name: name, Type: typ, Description: desc,
		Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: UniqueNone}
}

func (a *Attribute) multi() *Attribute               { a.MultiValued = true; return a }
func (a *Attribute) required() *Attribute            { a.Required = true; return a }
func (a *Attribute) exact() *Attribute               { a.CaseExact = true; return a }
func (a *Attribute) mut(m string) *Attribute         { a.Mutability = m; return a }
func (a *Attribute) returned(r string) *Attribute    { a.Returned = r; return a }
func (a *Attribute) unique(u string) *Attribute      { a.Uniqueness = u; return a }
func (a *Attribute) refs(t ...string) *Attribute     { a.ReferenceTypes = t; return a }
func (a *Attribute) canon(v ...string) *Attribute    { a.CanonicalValues = v; return a }
func (a *Attribute) subs(s ...*Attribute) *Attribute { a.SubAttributes = s; return a }
