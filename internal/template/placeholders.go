package template

import (
	"strconv"
	"strings"
)

// Placeholders are Meta's positional variables, "{{1}}", "{{2}}", ... in a
// template's body, text header and URL button. A text is compiled once into
// literal pieces and parameter slots, and rendered by concatenation: a
// parameter is never scanned again, so a parameter that itself contains
// "{{2}}" is sent literally (no template injection).

// maxPlaceholder bounds the number inside the braces. A body of 1024
// characters holds at most 204 placeholders, so a bigger number can never
// be part of a gap-free numbering.
const maxPlaceholder = 999

// segment is a literal (param 0) or the parameter numbered param (from 1).
type segment struct {
	literal string
	param   int
}

// compiled is a text split into segments. params is the highest
// placeholder number (the parameters a send must supply); numbers lists
// the distinct numbers in order of first appearance; malformed is the first
// piece that looks like a placeholder but is not one ("{{name}}", "{{01}}",
// a stray "}}"), kept in the text as a literal.
type compiled struct {
	segments  []segment
	params    int
	numbers   []int
	malformed string
}

// compile splits s. It never fails: what the definition rules refuse
// (malformed pieces, gaps) is reported in the result for ParseDefinition to
// judge, and rendered literally for a definition that did not go through it.
func compile(s string) compiled {
	var c compiled
	seen := map[int]bool{}
	literal := func(text string) {
		if text == "" {
			return
		}
		if n := len(c.segments); n > 0 && c.segments[n-1].param == 0 {
			c.segments[n-1].literal += text
			return
		}
		c.segments = append(c.segments, segment{literal: text})
	}
	noteMalformed := func(piece string) {
		if c.malformed == "" {
			c.malformed = truncate(piece, 40)
		}
	}
	for s != "" {
		open := strings.Index(s, "{{")
		if open < 0 {
			if strings.Contains(s, "}}") {
				noteMalformed("}}")
			}
			literal(s)
			break
		}
		if strings.Contains(s[:open], "}}") {
			noteMalformed("}}")
		}
		end := strings.Index(s[open+2:], "}}")
		if end < 0 {
			noteMalformed(s[open:])
			literal(s)
			break
		}
		inner := s[open+2 : open+2+end]
		piece := s[open : open+2+end+2]
		n, ok := placeholderNumber(inner)
		if !ok {
			noteMalformed(piece)
			literal(s[:open+2+end+2])
			s = s[open+2+end+2:]
			continue
		}
		literal(s[:open])
		c.segments = append(c.segments, segment{param: n})
		if !seen[n] {
			seen[n] = true
			c.numbers = append(c.numbers, n)
		}
		c.params = max(c.params, n)
		s = s[open+2+end+2:]
	}
	return c
}

func placeholderNumber(inner string) (int, bool) {
	if inner == "" || len(inner) > 3 || !allDigits(inner) || inner[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(inner)
	return n, err == nil && n <= maxPlaceholder
}

// gapFree reports whether the placeholders are exactly 1..params.
func (c compiled) gapFree() bool { return len(c.numbers) == c.params }

// size is the length in characters of the rendered text, computed before
// rendering so an oversized result is never built.
func (c compiled) size(params []string) int {
	n := 0
	for _, seg := range c.segments {
		if seg.param == 0 {
			n += chars(seg.literal)
		} else if seg.param <= len(params) {
			n += chars(params[seg.param-1])
		}
	}
	return n
}

// render substitutes params[n-1] for {{n}}. A placeholder without a
// parameter (only possible for a definition built without ParseDefinition,
// since Hydrate checks the counts) is left out.
func (c compiled) render(params []string) string {
	var b strings.Builder
	for _, seg := range c.segments {
		if seg.param == 0 {
			b.WriteString(seg.literal)
		} else if seg.param <= len(params) {
			b.WriteString(params[seg.param-1])
		}
	}
	return b.String()
}

// numberList writes the placeholders found, for error texts: "{{1}}, {{3}}".
func (c compiled) numberList() string {
	parts := make([]string, 0, len(c.numbers))
	for _, n := range c.numbers {
		parts = append(parts, "{{"+strconv.Itoa(n)+"}}")
	}
	return strings.Join(parts, ", ")
}

// truncate shortens s to at most n characters for an error text.
func truncate(s string, n int) string {
	if chars(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
