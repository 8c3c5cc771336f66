package scimserver

import (
	"encoding/json"
	"regexp"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// ParseFilter parses a filter query parameter (RFC 7644 §3.4.2.2) with
// github.com/scim2/filter-parser/v2. Before parsing it fixes what real
// clients send outside the grammar, and nothing else:
//
//   - an unquoted comparison value is quoted: Entra's `externalId eq jyoung`,
//     Microsoft's `userName sw O` and `meta.Created gt 2015-10-10T14:38:21-07:00`
//     (an unquoted value ends at a space, ")" or "]"; true, false, null and
//     JSON numbers stay literals);
//   - `emails[type eq "work"].value eq "x"`, Entra's matching filter, which
//     the grammar lacks, becomes `emails[type eq "work" and value eq "x"]`
//     (same meaning: one email is work and x).
//
// Numbers parse as json.Number; string escapes are decoded. Failure is 400
// invalidFilter.
func ParseFilter(s string) (filter.Expression, error) {
	src := strings.TrimSpace(s)
	if src == "" {
		return nil, InvalidFilter("the filter is empty")
	}
	src = joinTokens(subAttrValuePaths(quoteBareValues(tokenize(src))))
	expr, ok := parseSimple(src)
	if ok {
		return expr, unescapeOrInvalid(expr, s)
	}
	expr, err := filter.ParseFilterNumber([]byte(src))
	if err != nil {
		return nil, InvalidFilter("cannot parse the filter %q (RFC 7644 §3.4.2.2)", s)
	}
	return expr, unescapeOrInvalid(expr, s)
}

func unescapeOrInvalid(expr filter.Expression, s string) error {
	if err := unescape(expr); err != nil {
		return InvalidFilter("filter %q: %v", s, err)
	}
	return nil
}

// simpleFilter is `attrPath op "string"`: every IdP lookup
// (userName eq "x", externalId eq "x", displayName eq "x").
var simpleFilter = regexp.MustCompile(`^(\S+) +([A-Za-z]{2}) +"((?:[^"\\]|\\.)*)"$`)

// parseSimple parses a simpleFilter into the expression the filter parser
// would return, without it: the general parser costs ~100 µs a filter,
// most of the time of a lookup by userName.
func parseSimple(src string) (filter.Expression, bool) {
	m := simpleFilter.FindStringSubmatch(src)
	if m == nil || !isCompareOp(m[2]) {
		return nil, false
	}
	ap, ok := simpleAttrPath(m[1])
	if !ok {
		return nil, false
	}
	return &filter.AttributeExpression{AttributePath: ap,
		Operator: filter.CompareOperator(strings.ToLower(m[2])), CompareValue: m[3]}, true
}

var uriPrefix = regexp.MustCompile(`^([-.A-Za-z0-9]+:)*[-.A-Za-z0-9]+$`)

// simpleAttrPath parses an attribute path without a value filter ("userName",
// "name.givenName", "urn:...:User:manager.value") as filter.ParseAttrPath
// would, without the general parser.
func simpleAttrPath(s string) (filter.AttributePath, bool) {
	uri, name, sub := splitAttrPath(s)
	if strings.HasSuffix(s, ".") || !attrName.MatchString(name) || sub != "" && !attrName.MatchString(sub) || uri != "" && !uriPrefix.MatchString(uri) {
		return filter.AttributePath{}, false
	}
	var ap filter.AttributePath
	ap.AttributeName = name
	if uri != "" {
		ap.URIPrefix = &uri
	}
	if sub != "" {
		ap.SubAttribute = &sub
	}
	return ap, true
}

// parsePath parses a PATCH path (RFC 7644 §3.5.2): attrPath or
// attrPath[valFilter][.subAttr], with unquoted filter values quoted. A
// value filter the path grammar rejects (it allows one "and" or "or") is
// parsed with the full filter grammar. A bad filter is 400 invalidFilter;
// any other problem 400 invalidPath.
func parsePath(s string) (filter.Path, error) {
	if ap, ok := simpleAttrPath(strings.TrimSpace(s)); ok {
		return filter.Path{AttributePath: ap}, nil
	}
	toks := quoteBareValues(tokenize(strings.TrimSpace(s)))
	if p, err := filter.ParsePathNumber([]byte(joinTokens(toks))); err == nil {
		return p, unescapeOrInvalid(p.ValueExpression, s)
	}
	open := indexToken(toks, "[")
	end := len(toks) - 1
	for end > open && toks[end].text != "]" {
		end--
	}
	if open < 0 || end <= open {
		return filter.Path{}, InvalidPath("%q is not a valid attribute path", s)
	}
	expr, err := filter.ParseFilterNumber([]byte(joinTokens(toks[open+1 : end])))
	if err != nil {
		return filter.Path{}, InvalidFilter("cannot parse the filter in path %q", s)
	}
	ap, err := filter.ParseAttrPath([]byte(joinTokens(toks[:open])))
	if err != nil || ap.SubAttribute != nil {
		return filter.Path{}, InvalidPath("%q is not a valid attribute path", s)
	}
	p := filter.Path{AttributePath: ap, ValueExpression: expr}
	if tail := joinTokens(toks[end+1:]); tail != "" {
		name, ok := strings.CutPrefix(tail, ".")
		if !ok || !attrName.MatchString(name) {
			return filter.Path{}, InvalidPath("%q is not a valid attribute path", s)
		}
		p.SubAttribute = &name
	}
	return p, unescapeOrInvalid(expr, s)
}

var (
	attrName   = regexp.MustCompile(`^\$?[A-Za-z][-_A-Za-z0-9]*$`)
	jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)
)

type tokenKind int

const (
	tokSpace  tokenKind = iota // a run of spaces
	tokPunct                   // ( ) [ ]
	tokString                  // a quoted string, quotes included
	tokWord                    // anything else: attribute paths, operators, literals, bare values
)

type token struct {
	kind tokenKind
	text string
}

// tokenize splits a filter into the tokens quoteBareValues needs. It is
// not a parser: the filter parser validates the result.
func tokenize(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		j := i + 1
		kind := tokWord
		switch c := s[i]; {
		case c == ' ':
			kind = tokSpace
			for j < len(s) && s[j] == ' ' {
				j++
			}
		case strings.IndexByte("()[]", c) >= 0:
			kind = tokPunct
		case c == '"':
			kind = tokString
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
		default:
			for j < len(s) && strings.IndexByte(" ()[]\"", s[j]) < 0 {
				j++
			}
		}
		toks = append(toks, token{kind, s[i:j]})
		i = j
	}
	return toks
}

func joinTokens(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.text)
	}
	return b.String()
}

func indexToken(toks []token, text string) int {
	for i, t := range toks {
		if t.kind == tokPunct && t.text == text {
			return i
		}
	}
	return -1
}

func isCompareOp(w string) bool {
	switch strings.ToLower(w) {
	case "eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le":
		return true
	}
	return false
}

func isLiteral(w string) bool {
	switch strings.ToLower(w) {
	case "true", "false", "null":
		return true
	}
	return jsonNumber.MatchString(w)
}

// quoteBareValues quotes a word that follows "attrPath compareOp" and is not
// a JSON literal.
func quoteBareValues(toks []token) []token {
	var prev, prev2 *token // the last two tokens that are not spaces
	for i := range toks {
		t := &toks[i]
		if t.kind == tokSpace {
			continue
		}
		if t.kind == tokWord && prev != nil && prev2 != nil &&
			prev.kind == tokWord && isCompareOp(prev.text) && prev2.kind == tokWord && !isLiteral(t.text) {
			t.kind = tokString
			t.text = `"` + strings.ReplaceAll(strings.ReplaceAll(t.text, `\`, `\\`), `"`, `\"`) + `"`
		}
		prev, prev2 = t, prev
	}
	return toks
}

// subAttrValuePaths rewrites `attr[f].sub op v` (and `attr[f].sub pr`) as
// `attr[f and sub op v]`.
func subAttrValuePaths(toks []token) []token {
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].kind != tokPunct || toks[i].text != "]" || toks[i+1].kind != tokWord ||
			!strings.HasPrefix(toks[i+1].text, ".") {
			continue
		}
		var rest []token // op and value, without spaces
		j := i + 2
		for ; j < len(toks) && len(rest) < 2; j++ {
			if toks[j].kind == tokSpace {
				continue
			}
			rest = append(rest, toks[j])
			if len(rest) == 1 && strings.EqualFold(toks[j].text, "pr") {
				break
			}
		}
		switch {
		case len(rest) == 1 && strings.EqualFold(rest[0].text, "pr"):
			j++ // past "pr"
		case len(rest) != 2 || !isCompareOp(rest[0].text):
			continue
		}
		cond := []token{{tokSpace, " "}, {tokWord, "and"}, {tokSpace, " "}, {tokWord, toks[i+1].text[1:]}}
		for _, t := range rest {
			cond = append(cond, token{tokSpace, " "}, t)
		}
		cond = append(cond, token{tokPunct, "]"})
		toks = append(append(toks[:i:i], cond...), toks[j:]...)
	}
	return toks
}

// unescape decodes JSON escapes in string comparison values: the parser
// keeps `\"` as written.
func unescape(e filter.Expression) error {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		s, ok := e.CompareValue.(string)
		if !ok || !strings.Contains(s, `\`) {
			return nil
		}
		var out string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
			return err
		}
		e.CompareValue = out
	case *filter.LogicalExpression:
		if err := unescape(e.Left); err != nil {
			return err
		}
		return unescape(e.Right)
	case *filter.NotExpression:
		return unescape(e.Expression)
	case *filter.ValuePath:
		return unescape(e.ValueFilter)
	}
	return nil
}
