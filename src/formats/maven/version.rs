//! Maven's version order, as `ComparableVersion` of Maven 3.8 defines it, so that "latest"
//! and version listings sort the way `mvn` sorts them.
//!
//! Maven parses a version into nested lists: every `-` (and every digit/letter transition)
//! opens a new list that becomes the last item of the current one and receives everything
//! after it. The nesting is therefore a chain, stored here flat as one `Vec<Atom>` per
//! level; a level's sublist (if any) is the next level. That keeps parsing and comparison
//! iterative, so hostile inputs like `1-1-1-…` cannot overflow the stack.

use std::cmp::Ordering;

/// One non-list item of a level.
#[derive(Debug, PartialEq, Eq)]
enum Atom {
    /// Decimal digits without leading zeros (`""` is zero): arbitrary size, no overflow.
    Int(String),
    /// Lower-cased qualifier with Maven's aliases applied (`""` is a release).
    Str(String),
}

/// Known qualifiers in ascending order; `""` (release) sits between snapshot and sp.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// Rank of the release qualifier, which is what a missing item compares as.
const RELEASE: usize = 5;

impl Atom {
    fn int(digits: &str) -> Atom {
        Atom::Int(digits.trim_start_matches('0').to_owned())
    }

    fn string(value: &str, followed_by_digit: bool) -> Atom {
        let value = match value {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "ga" | "final" | "release" => "",
            "cr" => "rc",
            other => other,
        };
        Atom::Str(value.to_owned())
    }

    /// Maven's "null" items, which are trimmed from the end of a level.
    fn is_null(&self) -> bool {
        match self {
            Atom::Int(d) | Atom::Str(d) => d.is_empty(),
        }
    }

    /// Compares against an absent item (the shorter version is padded with "null").
    fn cmp_missing(&self) -> Ordering {
        match self {
            Atom::Int(d) if d.is_empty() => Ordering::Equal,
            Atom::Int(_) => Ordering::Greater,
            Atom::Str(s) => qualifier_cmp(s, QUALIFIERS[RELEASE]),
        }
    }

    fn cmp_atom(&self, other: &Atom) -> Ordering {
        match (self, other) {
            (Atom::Int(a), Atom::Int(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Atom::Int(_), Atom::Str(_)) => Ordering::Greater,
            (Atom::Str(_), Atom::Int(_)) => Ordering::Less,
            (Atom::Str(a), Atom::Str(b)) => qualifier_cmp(a, b),
        }
    }
}

/// Known qualifiers by rank, then unknown ones lexically (UTF-16 order, as Java compares).
fn qualifier_cmp(a: &str, b: &str) -> Ordering {
    let rank = |s: &str| QUALIFIERS.iter().position(|q| *q == s);
    match (rank(a), rank(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.encode_utf16().cmp(b.encode_utf16()),
    }
}

/// Splits a version into its chain of levels, then trims "null" items level by level.
fn parse(version: &str) -> Vec<Vec<Atom>> {
    let v = version.to_lowercase();
    let mut levels: Vec<Vec<Atom>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0;
    for (i, c) in v.char_indices() {
        let mut atom = None;
        match c {
            '.' | '-' => {
                atom = Some(match &v[start..i] {
                    "" => Atom::int(""),
                    tok if is_digit => Atom::int(tok),
                    tok => Atom::string(tok, false),
                });
                start = i + 1;
            }
            _ if c.is_ascii_digit() => {
                if !is_digit && i > start {
                    atom = Some(Atom::string(&v[start..i], true));
                    start = i;
                }
                is_digit = true;
            }
            _ => {
                if is_digit && i > start {
                    atom = Some(Atom::int(&v[start..i]));
                    start = i;
                }
                is_digit = false;
            }
        }
        if let Some(atom) = atom {
            if let Some(level) = levels.last_mut() {
                level.push(atom);
            }
            // A hyphen or a transition opens a sublist; a dot stays in the same list.
            if c != '.' {
                levels.push(Vec::new());
            }
        }
    }
    if let (Some(level), true) = (levels.last_mut(), v.len() > start) {
        let tok = &v[start..];
        level.push(if is_digit {
            Atom::int(tok)
        } else {
            Atom::string(tok, false)
        });
    }
    // Innermost first, like Maven: trailing nulls go (also those just before a sublist),
    // and a level left empty without a sublist is itself null and goes too.
    for k in (0..levels.len()).rev() {
        let has_sublist = k + 1 < levels.len();
        let level = &mut levels[k];
        while level.last().is_some_and(Atom::is_null) {
            level.pop();
        }
        if k > 0 && !has_sublist && level.is_empty() {
            levels.truncate(k);
        }
    }
    levels
}

/// What sits at position `t` of level `k`.
enum Slot<'a> {
    Atom(&'a Atom),
    Sublist,
    Missing,
}

fn slot(levels: &[Vec<Atom>], k: usize, t: usize) -> Slot<'_> {
    match levels.get(k).and_then(|level| level.get(t)) {
        Some(atom) => Slot::Atom(atom),
        None if levels.get(k).is_some_and(|l| l.len() == t) && k + 1 < levels.len() => {
            Slot::Sublist
        }
        None => Slot::Missing,
    }
}

/// A sublist against a missing item compares as its first atom (Maven looks at `get(0)`).
fn sublist_cmp_missing(levels: &[Vec<Atom>], from: usize) -> Ordering {
    levels
        .iter()
        .skip(from)
        .find_map(|level| level.first())
        .map_or(Ordering::Equal, Atom::cmp_missing)
}

/// Maven's order of two versions (as ComparableVersion of Maven 3.8).
pub fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (parse(a), parse(b));
    let (mut k, mut t) = (0, 0);
    loop {
        let ord = match (slot(&a, k, t), slot(&b, k, t)) {
            (Slot::Missing, Slot::Missing) => return Ordering::Equal,
            // A sublist is always last in its level, so the levels' order is the sublists'.
            (Slot::Sublist, Slot::Sublist) => {
                (k, t) = (k + 1, 0);
                continue;
            }
            (Slot::Atom(x), Slot::Atom(y)) => x.cmp_atom(y),
            (Slot::Atom(x), Slot::Missing) => x.cmp_missing(),
            (Slot::Missing, Slot::Atom(y)) => y.cmp_missing().reverse(),
            // Numbers beat sublists ("1.1" > "1-1"), sublists beat qualifiers ("1-1" > "1-sp").
            (Slot::Atom(Atom::Int(_)), Slot::Sublist) => Ordering::Greater,
            (Slot::Atom(Atom::Str(_)), Slot::Sublist) => Ordering::Less,
            (Slot::Sublist, Slot::Atom(Atom::Int(_))) => Ordering::Less,
            (Slot::Sublist, Slot::Atom(Atom::Str(_))) => Ordering::Greater,
            (Slot::Sublist, Slot::Missing) => sublist_cmp_missing(&a, k + 1),
            (Slot::Missing, Slot::Sublist) => sublist_cmp_missing(&b, k + 1).reverse(),
        };
        if ord != Ordering::Equal {
            return ord;
        }
        t += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that the whitespace-separated `versions` are strictly ascending, both ways.
    fn ascending(versions: &str) {
        let v: Vec<&str> = versions.split_whitespace().collect();
        for (i, a) in v.iter().enumerate() {
            for b in &v[i + 1..] {
                assert_eq!(compare(a, b), Ordering::Less, "{a} < {b}");
                assert_eq!(compare(b, a), Ordering::Greater, "{b} > {a}");
            }
        }
    }

    fn equal(versions: &str) {
        for a in versions.split_whitespace() {
            for b in versions.split_whitespace() {
                assert_eq!(compare(a, b), Ordering::Equal, "{a} == {b}");
            }
        }
    }

    #[test]
    fn spec_examples() {
        ascending("1 1.1 1.1.1");
        ascending("1-alpha 1-beta 1-milestone 1-rc 1-snapshot 1 1-sp");
        ascending("1.0-SNAPSHOT 1.0 1.1-SNAPSHOT");
        ascending("1.9 1.10 2.0");
        ascending("1-1 1.1");
        // Maven 3.8's code (not the spec's prose) keeps "1-ga-1" (= "1-0-1") below "1-1".
        ascending("1-sp-1 1-ga-1 1-1");
        equal("1-ga-1 1-0-1 1-final-1");
        equal("1 1.0 1.0.0 1-ga 1-final 1-release 1.RELEASE 1. 1- 1-0 1.ga 1ga 1.0-0");
        equal("1-1 1.0-1 1.0.0-1");
        equal("1.0.0-foo.0.0 1-foo");
        equal("1a 1-a 1.0-a 1.0.0-a 1.0a 1A");
        equal("1-a1 1-alpha-1 1alpha1 1A1");
        equal("1-cr1 1-rc1 1-RC-1 1Cr1");
        equal("1-m1 1-milestone1 1MileStone1");
        equal("1x 1-x 1.0.0-x 1X");
        equal("1-abcdefghijklmnopqrstuvwxyz 1-ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    }

    /// Maven's own ordering test lists.
    #[test]
    fn maven_test_suite_orders() {
        ascending(
            "1-alpha2snapshot 1-alpha2 1-alpha-123 1-beta-2 1-beta123 1-m2 1-m11 1-rc 1-cr2
             1-rc123 1-SNAPSHOT 1 1-sp 1-sp2 1-sp123 1-abc 1-def 1-pom-1 1-1-snapshot 1-1 1-2
             1-123",
        );
        ascending(
            "2.0 2-1 2.0.a 2.0.0.a 2.0.2 2.0.123 2.1.0 2.1-a 2.1b 2.1-c 2.1-1 2.1.0.1 2.2 2.123
             11.a2 11.a11 11.b2 11.b11 11.m2 11.m11 11 11.a 11b 11c 11m",
        );
        ascending("1.0-alpha-1 1.0-alpha-2 1.0-beta-1 1.0-SNAPSHOT 1.0 1.0-1 1.0-2");
        ascending("1.0-alpha-1-SNAPSHOT 1.0-alpha-1");
        ascending("1.0.0 1.0-1 2.0-1 2.0.1 2.0.1-klm 2.0.1-lmn 2.0.1-xyz 2.0.1-123");
    }

    #[test]
    fn timestamped_snapshots_sort_as_numeric_qualifiers() {
        ascending("1.0.0-SNAPSHOT 1.0.0 1.0.0-20210728.194552-1 1.0.0-20210728.194552-2 1.0.1");
        ascending("1.0.0-20210728.194552-1 1.0.0-20210729.000000-1");
    }

    #[test]
    fn big_numbers_do_not_overflow() {
        ascending("1.2147483648 1.9223372036854775808 1.123456789012345678901234567890");
        equal("1.123456789012345678901234567890 1.000123456789012345678901234567890");
        equal("1.00000000000000000000000000000000000 1");
        ascending(
            "1-99999999999999999999999999999999999998 1-99999999999999999999999999999999999999",
        );
    }

    #[test]
    fn odd_inputs_never_panic() {
        let odd = [
            "", "-", "..", "1..2", "ü", "--1--", ".-.", "İ", "🦀1a", "a", "0", "-1", "\0",
        ];
        for a in odd {
            for b in odd {
                assert_eq!(compare(a, b), compare(b, a).reverse(), "{a:?} vs {b:?}");
            }
        }
        assert_eq!(compare("", "0"), Ordering::Equal);
        equal("0 .. - ga");
        assert_eq!(compare("", "-1"), Ordering::Less);
        ascending("-1 1");
        equal("1.0.2 1..2");
        let deep = "1-".repeat(100_000);
        assert_eq!(compare(&deep, &deep), Ordering::Equal);
        assert_eq!(compare(&deep, "2"), Ordering::Less);
    }
}
