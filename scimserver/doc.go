// Package scimserver will serve the SCIM 2.0 API (RFC 7643/7644) that Okta
// and Microsoft Entra ID provision into, feeding reconcile.Engine.Push.
package scimserver
