//! Case-insensitive glob patterns for IdP group names and attribute values, and the name
//! folding that every case-insensitive comparison in the crate shares.
//!
//! Syntax: `*` matches any run of characters (also none), `?` matches exactly one character,
//! and `\*`, `\?`, `\\` match a literal `*`, `?` or `\`. Any other use of `\` is an error, so
//! that a name such as `CORP\Sales` is written `CORP\\Sales` on purpose instead of silently
//! meaning something else. A pattern without wildcards is an exact (case-insensitive) name.
//!
//! The matcher is iterative and remembers only the last `*` it passed, so a match costs at
//! most `O(pattern × text)` steps: no regex, no recursion, no exponential backtracking.
//! This module owns matching only; it knows nothing about rules or events.

/// Folds one character for case-insensitive comparison: its lower case when that is a single
/// character, else the character itself (the rare characters whose lower case is longer,
/// such as `İ`, then compare exactly).
fn fold_char(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The key under which names are compared case-insensitively: trimmed, each character folded
/// to lower case. IdPs are inconsistent about the case of group and attribute names, and Domo
/// group names are unique per instance regardless of case, so every comparison of names in
/// rules, state and plans goes through this one function.
pub fn name_key(name: &str) -> String {
    name.trim().chars().map(fold_char).collect()
}

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A literal character, already folded.
    Char(char),
    /// `?`: any one character.
    One,
    /// `*`: any run of characters, also empty.
    Star,
}

/// A compiled glob pattern; see the module documentation for its syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    /// Compiles a pattern (trimmed first). The error says what is wrong and how to fix it,
    /// without naming where the pattern came from; the caller adds that.
    pub fn parse(pattern: &str) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.trim().chars().enumerate();
        while let Some((i, c)) = chars.next() {
            let token = match c {
                '*' => Token::Star,
                '?' => Token::One,
                '\\' => match chars.next() {
                    Some((_, e @ ('*' | '?' | '\\'))) => Token::Char(e),
                    Some((_, other)) => {
                        return Err(format!(
                            "`\\{other}` at character {} is not an escape: `\\` may only precede \
                             `*`, `?` or `\\`; write `\\\\` for a literal backslash",
                            i + 1
                        ));
                    }
                    None => {
                        return Err(
                            "ends with a lone `\\`; write `\\\\` for a literal backslash".into(),
                        );
                    }
                },
                c if c.is_control() => {
                    return Err(format!(
                        "contains the control character U+{:04X} at character {}; \
                         names never contain one",
                        u32::from(c),
                        i + 1
                    ));
                }
                c => Token::Char(fold_char(c)),
            };
            // `**` means the same as `*`; collapsing keeps the matcher's work small.
            if !(token == Token::Star && tokens.last() == Some(&Token::Star)) {
                tokens.push(token);
            }
        }
        Ok(Glob { tokens })
    }

    /// True when the pattern has no wildcard, i.e. names one exact value.
    pub fn is_literal(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Token::Char(_)))
    }

    /// Whether `text` (trimmed) matches the whole pattern, ignoring case.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.trim().chars().map(fold_char).collect();
        let pat = &self.tokens;
        let (mut p, mut t) = (0usize, 0usize);
        // The last `*` seen: its position in the pattern and the text position it is
        // currently assumed to stretch to. Retrying only this one star is enough, because a
        // later star can absorb whatever an earlier one would have.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pat.get(p) {
                Some(Token::Star) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(Token::One) => {
                    p += 1;
                    t += 1;
                }
                Some(Token::Char(c)) if *c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        // Let the star swallow one more character and retry after it.
                        star = Some((sp, st + 1));
                        p = sp + 1;
                        t = st + 1;
                    }
                    None => return false,
                },
            }
        }
        pat[p..].iter().all(|tok| *tok == Token::Star)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::parse(pattern).expect("valid pattern").matches(text)
    }

    #[test]
    fn literal_patterns_match_the_whole_name_ignoring_case() {
        assert!(m("Marketing", "marketing"));
        assert!(m("MARKETING", "Marketing"));
        assert!(m("Marketing", "  Marketing "), "names are trimmed");
        assert!(!m("Marketing", "Marketing-EU"));
        assert!(!m("Marketing", "Market"));
        assert!(Glob::parse("Marketing").expect("valid").is_literal());
    }

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(m("*", ""));
        assert!(m("*", "anything at all"));
        assert!(m("eng-*", "eng-"));
        assert!(m("eng-*", "ENG-platform"));
        assert!(!m("eng-*", "eng"));
        assert!(m("*-admins", "db-admins"));
        assert!(!m("*-admins", "db-admins-old"));
        assert!(!Glob::parse("eng-*").expect("valid").is_literal());
    }

    #[test]
    fn several_stars_find_a_match_when_one_exists() {
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(m("a*b*c", "abbbcbc"));
        assert!(m("a*b*c", "a-b-b-c-c"));
        assert!(!m("a*b*c", "acb"));
        assert!(!m("a*b*c", "abcd"));
        assert!(m("**a**", "xax"), "repeated stars mean one star");
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(m("team-?", "team-a"));
        assert!(m("team-?", "team-é"), "one character, not one byte");
        assert!(!m("team-?", "team-"));
        assert!(!m("team-?", "team-ab"));
        assert!(m("?*", "x"));
        assert!(!m("?*", ""));
    }

    #[test]
    fn escapes_match_literal_wildcards_and_backslashes() {
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "aXb"));
        assert!(m("why\\?", "why?"));
        assert!(!m("why\\?", "whyX"));
        assert!(m("CORP\\\\Sales", "corp\\sales"));
        assert!(Glob::parse("a\\*b").expect("valid").is_literal());
    }

    #[test]
    fn empty_pattern_matches_only_an_empty_name() {
        assert!(m("", ""));
        assert!(m("", "   "));
        assert!(!m("", "a"));
    }

    #[test]
    fn bad_patterns_say_what_is_wrong_and_how_to_fix_it() {
        let e = Glob::parse("CORP\\Sales").expect_err("bad escape");
        assert!(e.contains("`\\S`") && e.contains("character 5"), "{e}");
        assert!(e.contains("write `\\\\`"), "{e}");
        let e = Glob::parse("trailing\\").expect_err("lone backslash");
        assert!(e.contains("lone `\\`"), "{e}");
        let e = Glob::parse("tab\there").expect_err("control character");
        assert!(e.contains("U+0009"), "{e}");
    }

    #[test]
    fn long_inputs_match_in_polynomial_time() {
        // The classic exponential case for backtracking matchers.
        let text = "a".repeat(20_000);
        let pattern = format!("{}b", "a*".repeat(30));
        assert!(!m(&pattern, &text));
        let pattern = format!("{}a", "*a".repeat(30));
        assert!(m(&pattern, &text));
        let long_literal = "x".repeat(50_000);
        assert!(m(&long_literal, &long_literal.to_uppercase()));
        assert!(m("*x", &long_literal));
    }

    #[test]
    fn name_key_trims_and_folds_case() {
        assert_eq!(name_key("  Sales EMEA "), "sales emea");
        assert_eq!(name_key("ÉQUIPE"), "équipe");
        assert_eq!(name_key("Ünïcode"), name_key("üNÏCODE"));
    }
}
