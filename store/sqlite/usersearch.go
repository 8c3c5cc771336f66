package sqlite

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// searchTerm returns the condition matching the app users whose userName,
// displayName or email contains q, ignoring case as strings.ToLower does
// (Unicode: "émile" finds "ÉMILE", "ilker" finds "İlker"), and its
// arguments.
//
// SQLite folds the case of ASCII letters only, and a Go function called on
// every row is slow (~1 µs a call, three columns, 100,000 rows), so:
//
//   - userName: user_key is reconcile.FoldName(user_name), its lower case
//     already. FoldName also trims spaces, which changes nothing for a query
//     neither starting nor ending with one: its match cannot reach them.
//   - displayName and email: strings.ToLower maps rune by rune, so a
//     column contains q lowered iff it has a run of runes r1…rn such that
//     ToLower(ri) is the i-th rune of q lowered. GLOB with one set per rune,
//     listing every rune that lowers to it, says exactly that (globPattern).
//     A LIKE pattern finds the candidates faster (likePattern); alone it is
//     exact when q is ASCII without i or k. (Both read UTF-8 as Go does if it
//     is valid, as what JSON decoding stores is.)
//
// A query with a NUL (which ends a pattern) or longer than maxQueryBytes
// falls back to lowering every row in Go.
func searchTerm(q string) (string, []any) {
	ql := strings.ToLower(q)
	if strings.ContainsRune(ql, 0) || len(ql) > maxQueryBytes {
		return `(instr(idpsync_lower(u.user_name), ?) > 0
			OR instr(idpsync_lower(u.display_name), ?) > 0
			OR instr(idpsync_lower(u.email), ?) > 0)`, []any{ql, ql, ql}
	}
	like, exact, literals := likePattern(ql)
	var glob string
	if !exact {
		glob = globPattern(ql)
	}
	var (
		terms []string
		args  []any
	)
	column := func(col string) {
		switch {
		case exact:
			terms, args = append(terms, col+` LIKE ? ESCAPE '\'`), append(args, like)
		case literals:
			terms, args = append(terms, "("+col+` LIKE ? ESCAPE '\' AND `+col+" GLOB ?)"), append(args, like, glob)
		default: // LIKE would let every row through
			terms, args = append(terms, col+" GLOB ?"), append(args, glob)
		}
	}
	if strings.TrimSpace(ql) == ql {
		terms, args = append(terms, "instr(u.user_key, ?) > 0"), append(args, ql)
	} else {
		column("u.user_name")
	}
	column("u.display_name")
	column("u.email")
	return "(" + strings.Join(terms, " OR ") + ")", args
}

// maxQueryBytes keeps the patterns of a query within SQLite's limit on LIKE
// and GLOB patterns (SQLITE_MAX_LIKE_PATTERN_LENGTH, 50,000 bytes): a rune
// becomes at most a set of three runes.
const maxQueryBytes = 2000

// likePattern returns a LIKE pattern (escaped with \) matching the strings
// that contain ql, lowered, and maybe more. LIKE folds ASCII letters only,
// so it has '_' (any one character) for every rune it would not match
// exactly: those beyond ASCII, and i and k, which İ and K (Kelvin) also
// lower to. exact reports that it has none; literals that it has something
// other than '_' to match.
func likePattern(ql string) (pattern string, exact, literals bool) {
	var b strings.Builder
	b.WriteByte('%')
	exact = true
	for _, r := range ql {
		switch {
		case r >= utf8.RuneSelf || r == 'i' || r == 'k':
			b.WriteByte('_')
			exact = false
			continue
		case r == '%' || r == '_' || r == '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
		literals = true
	}
	b.WriteByte('%')
	return b.String(), exact, literals
}

// globPattern returns the GLOB pattern matching exactly the strings that
// contain ql once lowered by strings.ToLower: each rune of ql becomes the set
// of the runes that lower to it. GLOB is case-sensitive and compares code
// points; its special characters are quoted as one-rune sets ("[*]").
// (No rune with a case is one of the ] - ^ that a set treats apart.)
func globPattern(ql string) string {
	var b strings.Builder
	b.WriteByte('*')
	for _, r := range ql {
		uppers := lowersTo()[r]
		switch {
		case len(uppers) > 0:
			b.WriteByte('[')
			b.WriteRune(r)
			for _, u := range uppers {
				b.WriteRune(u)
			}
			b.WriteByte(']')
		case r == '*' || r == '?' || r == '[':
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('*')
	return b.String()
}

// lowersTo maps a rune to the other runes unicode.ToLower maps to it
// ('a' → 'A'; 'i' → 'I', 'İ'; 'k' → 'K', 'K'). unicode.ToLower changes only
// runes in unicode.CaseRanges, so walking those finds them all.
var lowersTo = sync.OnceValue(func() map[rune][]rune {
	m := make(map[rune][]rune)
	for _, cr := range unicode.CaseRanges {
		for r := rune(cr.Lo); r <= rune(cr.Hi); r++ {
			if l := unicode.ToLower(r); l != r {
				m[l] = append(m[l], r)
			}
		}
	}
	return m
})
