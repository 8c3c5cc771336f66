package sqlite

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/idpsync/idpsync/reconcile"
)

// invalidFilter is the error for a filter the store cannot run: EINVALID,
// its message starting with "invalidFilter:" (the SCIM server answers 400
// invalidFilter). The store never falls back to returning everything.
func invalidFilter(format string, args ...any) error {
	return reconcile.Errorf(reconcile.EINVALID, "invalidFilter: "+format, args...)
}

// filterSQL translates a SCIM filter (RFC 7644 §3.4.2.2) into an SQL
// condition on the resource row r, with bound parameters. Every condition
// it builds is 0 or 1, never NULL, so that "not" holds exactly when its
// operand does not.
//
// The rules: attribute names match in any letter case; strings compare
// case-insensitively (Unicode) except where the attribute is case-exact (id,
// externalId, member and group ids); userName compares folded
// (reconcile.FoldName), and group displayName lower-cased, through indexed
// columns. A multi-valued attribute matches when one of its values does; a
// complex attribute named without a sub-attribute compares its "value"; ne
// holds when no value is equal (so also when the attribute is absent), eq
// null when it is absent; pr when a value is present and not empty.
type filterSQL struct {
	typ  string // "User" or "Group"
	args []any
	n    int // aliases handed out
}

// translateFilter returns the SQL condition for f (nil: every resource).
func translateFilter(typ string, f filter.Expression) (string, []any, error) {
	if f == nil {
		return "1", nil, nil
	}
	pre, args := prefilter(typ, f)
	q := &filterSQL{typ: typ, args: args}
	where, err := q.expr(f, nil)
	if pre != "" {
		where = "(" + pre + " AND " + where + ")"
	}
	return where, q.args, err
}

func (q *filterSQL) alias() string {
	q.n++
	return "j" + strconv.Itoa(q.n)
}

func (q *filterSQL) bind(v any) string {
	q.args = append(q.args, v)
	return "?"
}

// lit quotes a name from the attribute tables as an SQL string literal.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// elemScope is the inside of a value path: attribute names there are
// sub-attributes of the element row.
type elemScope struct {
	json *attrDef // a complex JSON attribute; row is one of its elements
	row  string
	memb *membership // or a membership; row is its alias
}

func (q *filterSQL) expr(e filter.Expression, sc *elemScope) (string, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		op := strings.ToUpper(string(e.Operator))
		if op != "AND" && op != "OR" {
			return "", invalidFilter("unknown logical operator %q", e.Operator)
		}
		l, err := q.expr(e.Left, sc)
		if err != nil {
			return "", err
		}
		r, err := q.expr(e.Right, sc)
		if err != nil {
			return "", err
		}
		return "(" + l + " " + op + " " + r + ")", nil
	case *filter.NotExpression:
		x, err := q.expr(e.Expression, sc)
		if err != nil {
			return "", err
		}
		return "(NOT " + x + ")", nil
	case *filter.ValuePath:
		if sc != nil {
			return "", invalidFilter("%s: a value path inside a value path", e.AttributePath)
		}
		return q.valuePath(e)
	case *filter.AttributeExpression:
		return q.attribute(e, sc)
	}
	return "", invalidFilter("unsupported expression %v", e)
}

// leaf is one value an attribute has: an SQL expression, or a json_each row.
type leaf struct {
	expr     string
	row      string
	nullable bool
}

// leafCond builds a condition on one value, binding its parameters.
type leafCond func(l leaf) string

// target is an attribute a comparison applies to: exists(c) holds when one
// of its values satisfies c.
type target struct {
	kind   valueKind
	col    column // folding and case-exactness
	exists func(c leafCond) string
}

func (q *filterSQL) attribute(e *filter.AttributeExpression, sc *elemScope) (string, error) {
	op := filter.CompareOperator(strings.ToLower(string(e.Operator)))
	t, err := q.target(e.AttributePath, sc, op != filter.PR && e.CompareValue != nil)
	if err != nil {
		return "", err
	}
	switch {
	case op == filter.PR:
		return t.exists(present), nil
	case e.CompareValue == nil && (op == filter.EQ || op == filter.NE):
		s := t.exists(notNull)
		if op == filter.EQ {
			return "(NOT " + s + ")", nil
		}
		return s, nil
	case e.CompareValue == nil:
		return "", invalidFilter("%v: only eq and ne compare with null", e)
	}
	cmp := op
	if op == filter.NE {
		cmp = filter.EQ
	}
	c, err := q.compare(t, cmp, e.CompareValue, e)
	if err != nil {
		return "", err
	}
	if op == filter.NE {
		return "(NOT " + t.exists(c) + ")", nil
	}
	return t.exists(c), nil
}

func present(l leaf) string {
	if l.row != "" {
		return fmt.Sprintf("(%[1]s.type <> 'null' AND NOT (%[1]s.type = 'text' AND %[1]s.atom = '')"+
			" AND NOT (%[1]s.type IN ('array', 'object') AND %[1]s.value IN ('[]', '{}')))", l.row)
	}
	if l.nullable {
		return "(coalesce(" + l.expr + ", '') <> '')"
	}
	return "(" + l.expr + " <> '')" // absent strings are stored as ''
}

func notNull(l leaf) string {
	switch {
	case l.row != "":
		return "(" + l.row + ".type <> 'null')"
	case l.nullable:
		return "(" + l.expr + " IS NOT NULL)"
	}
	return "(" + l.expr + " <> '')"
}

// compare returns the condition "a value op v" for t, or invalidFilter when
// the operator does not apply to the attribute or v does not fit it.
func (q *filterSQL) compare(t *target, op filter.CompareOperator, v any, e *filter.AttributeExpression) (leafCond, error) {
	switch t.kind {
	case kindBool:
		b, ok := boolValue(v)
		if op != filter.EQ || !ok {
			return nil, invalidFilter("%v: %s is a boolean: eq or ne true or false, or pr", e, e.AttributePath)
		}
		return func(l leaf) string {
			if l.row != "" {
				return fmt.Sprintf("(%[1]s.type = '%[2]t' OR (%[1]s.type = 'text' AND lower(%[1]s.atom) = '%[2]t'))", l.row, b)
			}
			return fmt.Sprintf("(%s = %d)", l.expr, boolInt(b))
		}, nil
	case kindTime:
		s, _ := v.(string)
		lo, hi, ok := timeRange(s)
		if !ok {
			return nil, invalidFilter("%v: %s is a date and time (RFC 3339)", e, e.AttributePath)
		}
		var sqlOp, bound string
		switch op {
		case filter.EQ:
			return func(l leaf) string {
				return "(" + l.expr + " >= " + q.bind(lo) + " AND " + l.expr + " < " + q.bind(hi) + ")"
			}, nil
		case filter.GT:
			sqlOp, bound = ">=", hi // later than the whole instant named, at its precision
		case filter.GE:
			sqlOp, bound = ">=", lo
		case filter.LT:
			sqlOp, bound = "<", lo
		case filter.LE:
			sqlOp, bound = "<", hi
		default:
			return nil, invalidFilter("%v: %s is a date and time: eq, ne, gt, ge, lt, le or pr", e, e.AttributePath)
		}
		return func(l leaf) string { return "(" + l.expr + " " + sqlOp + " " + q.bind(bound) + ")" }, nil
	case kindComplex:
		return nil, invalidFilter("%v: %s is complex: compare one of its sub-attributes", e, e.AttributePath)
	}
	s, ok := stringValue(v)
	if !ok {
		return nil, invalidFilter("%v: %s is a string", e, e.AttributePath)
	}
	switch op {
	case filter.EQ, filter.CO, filter.SW, filter.EW, filter.GT, filter.GE, filter.LT, filter.LE:
	default:
		return nil, invalidFilter("%v: unknown operator %q", e, e.Operator)
	}
	return func(l leaf) string {
		guard, x := "", l.expr
		if l.row != "" {
			guard, x = l.row+".type IN ('text', 'integer', 'real')", "CAST("+l.row+".atom AS TEXT)"
		} else if l.nullable {
			guard = l.expr + " IS NOT NULL"
		}
		val := s
		switch {
		case t.col.eqFold != nil && op == filter.EQ:
			val = t.col.eqFold(s)
		case t.col.fold != nil:
			val = t.col.fold(s)
		case !t.col.exact:
			x, val = "idpsync_lower("+x+")", strings.ToLower(s)
		}
		c := q.stringOp(x, op, val, t.col.exact)
		if guard == "" {
			return c
		}
		return "(" + guard + " AND " + c + ")"
	}, nil
}

var sqlOps = map[filter.CompareOperator]string{filter.EQ: "=", filter.GT: ">", filter.GE: ">=", filter.LT: "<", filter.LE: "<="}

// stringOp compares the string expression x with v. Case-insensitive
// matching lower-cased both sides already; LIKE escapes its wildcards.
func (q *filterSQL) stringOp(x string, op filter.CompareOperator, v string, exact bool) string {
	if o, ok := sqlOps[op]; ok {
		return "(" + x + " " + o + " " + q.bind(v) + ")"
	}
	if v == "" {
		return "1" // every string contains, starts and ends with ""
	}
	if exact {
		n := utf8.RuneCountInString(v)
		switch op {
		case filter.CO:
			return "(instr(" + x + ", " + q.bind(v) + ") > 0)"
		case filter.SW:
			return "(substr(" + x + ", 1, " + q.bind(n) + ") = " + q.bind(v) + ")"
		}
		return "(substr(" + x + ", " + q.bind(-n) + ") = " + q.bind(v) + ")"
	}
	p := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(v)
	switch op {
	case filter.CO:
		p = "%" + p + "%"
	case filter.SW:
		p += "%"
	default:
		p = "%" + p
	}
	return "(" + x + " LIKE " + q.bind(p) + ` ESCAPE '\')`
}

// stringValue is a comparison value as a string: strings, and numbers as
// written (Entra's unquoted values).
func stringValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case int:
		return strconv.Itoa(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// boolValue accepts true and false, also as strings in any case ("False").
func boolValue(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// timeRange returns the stored-time bounds [lo, hi) of the instant s names,
// at the precision s is written in: "2024-05-01T10:00:00Z" covers that whole
// second, "2024-05-01" that whole day (UTC).
func timeRange(s string) (lo, hi string, ok bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	unit := time.Second
	if err == nil {
		if i := strings.IndexByte(s, '.'); i >= 0 {
			for j := i + 1; j < len(s) && s[j] >= '0' && s[j] <= '9' && unit > time.Nanosecond; j++ {
				unit /= 10
			}
		}
	} else if t, err = time.Parse(time.DateOnly, s); err == nil {
		unit = 24 * time.Hour
	} else {
		return "", "", false
	}
	return formatTime(t), formatTime(t.Add(unit)), true
}
