package explain

import (
	"math"
	"strings"
)

// Dialect selects how a rule is written.
type Dialect int

const (
	// Pandas writes an expression for DataFrame.query.
	Pandas Dialect = iota
	// SQL writes a WHERE clause body.
	SQL
)

// Python keywords cannot be bare names in a query expression.
var pyKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

func isIdent(s string) bool {
	if s == "" || pyKeywords[s] {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// pandasName backquotes names that are not plain ASCII identifiers. pandas
// has no escape for a backquote inside a backquoted name, so such a name
// cannot be written; it is left as is.
func pandasName(s string) string {
	if isIdent(s) {
		return s
	}
	return "`" + s + "`"
}

func pandasString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

func sqlName(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// String writes the rule; an empty rule matches every row.
func (r *Rule) String(d Dialect) string {
	if len(r.Conditions) == 0 {
		if d == SQL {
			return "1 = 1"
		}
		return "index == index"
	}
	parts := make([]string, len(r.Conditions))
	for i := range r.Conditions {
		parts[i] = r.Conditions[i].String(d)
	}
	if d == SQL {
		return strings.Join(parts, " AND ")
	}
	return strings.Join(parts, " and ")
}

// levels returns the levels the condition writes and whether it writes them
// negated: the shorter of the allowed list and its complement.
func (c *Condition) levels(allowNeg bool) ([]string, bool) {
	var in, out []string
	for l, ok := range c.Allowed {
		if ok {
			in = append(in, c.Levels[l])
		} else {
			out = append(out, c.Levels[l])
		}
	}
	if allowNeg && len(out) < len(in) {
		return out, true
	}
	return in, false
}

// String writes one condition, levels as the shorter of the allowed list
// and its negation. Missing values: in pandas a comparison with NaN is false
// except != and `not in`; in SQL every comparison with NULL excludes the
// row. So pandas negates a level list only when missing values should match,
// and a missing-matching condition adds `x != x` (true only for NaN) or
// `x IS NULL`.
func (c *Condition) String(d Dialect) string {
	var s string
	var nanMatches bool // whether the plain form already matches a missing value
	if c.Allowed != nil {
		lv, neg := c.levels(d == SQL || c.Missing)
		if d == SQL {
			q := make([]string, len(lv))
			for i, v := range lv {
				q[i] = sqlString(v)
			}
			switch {
			case len(q) == 1 && neg:
				s = sqlName(c.Name) + " <> " + q[0]
			case len(q) == 1:
				s = sqlName(c.Name) + " = " + q[0]
			case neg:
				s = sqlName(c.Name) + " NOT IN (" + strings.Join(q, ",") + ")"
			default:
				s = sqlName(c.Name) + " IN (" + strings.Join(q, ",") + ")"
			}
		} else {
			q := make([]string, len(lv))
			for i, v := range lv {
				q[i] = pandasString(v)
			}
			name := pandasName(c.Name)
			switch {
			case len(q) == 1 && neg:
				s = name + " != " + q[0]
			case len(q) == 1:
				s = name + " == " + q[0]
			case neg:
				s = name + " not in [" + strings.Join(q, ", ") + "]"
			default:
				s = name + " in [" + strings.Join(q, ", ") + "]"
			}
			nanMatches = neg
		}
	} else {
		lo, hi := !math.IsInf(c.Lower, -1), !math.IsInf(c.Upper, 1)
		if d == SQL {
			n := sqlName(c.Name)
			switch {
			case lo && hi:
				s = n + " > " + c.LowerText + " AND " + n + " <= " + c.UpperText
			case lo:
				s = n + " > " + c.LowerText
			default:
				s = n + " <= " + c.UpperText
			}
		} else {
			n := pandasName(c.Name)
			switch {
			case lo && hi:
				s = c.LowerText + " < " + n + " <= " + c.UpperText
			case lo:
				s = n + " > " + c.LowerText
			default:
				s = n + " <= " + c.UpperText
			}
		}
	}
	want := c.Missing
	if d == SQL {
		if want {
			return "(" + s + " OR " + sqlName(c.Name) + " IS NULL)"
		}
		return s
	}
	if want && !nanMatches {
		n := pandasName(c.Name)
		return "(" + s + " or " + n + " != " + n + ")"
	}
	return s
}
