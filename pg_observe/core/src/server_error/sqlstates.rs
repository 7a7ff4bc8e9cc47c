//! SQLSTATEs as PostgreSQL packs them into an `int` (`MAKE_SQLSTATE`), and
//! the list of codes and classes `observe.capture_ignore_sqlstates` names.
//! The hook matches packed codes against a parsed list, allocating nothing.

use thiserror::Error;

/// Most entries the ignore list takes; the hook keeps them in a fixed array.
pub const MAX_PATTERNS: usize = 64;

/// One entry of the list: a whole code, or a class (its first two
/// characters, which PostgreSQL packs into the low 12 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pattern {
    packed: i32,
    class: bool,
}

const CLASS_MASK: i32 = (1 << 12) - 1;

impl Pattern {
    /// A placeholder for fixed arrays of patterns; matches only `00000`.
    pub const EMPTY: Pattern = Pattern {
        packed: 0,
        class: false,
    };

    pub fn matches(&self, sqlerrcode: i32) -> bool {
        if self.class {
            sqlerrcode & CLASS_MASK == self.packed
        } else {
            sqlerrcode == self.packed
        }
    }
}

/// Whether any pattern matches.
pub fn ignored(patterns: &[Pattern], sqlerrcode: i32) -> bool {
    patterns.iter().any(|p| p.matches(sqlerrcode))
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SqlStateListError {
    #[error("entry {position} is not a SQLSTATE: give five characters of 0-9 and A-Z (57014) or a two-character class (57)")]
    NotASqlState { position: usize },
    #[error("at most {MAX_PATTERNS} entries")]
    TooMany,
}

/// Parses a comma-separated list of codes and classes; blanks and case are
/// forgiven, anything else is refused with its position.
pub fn parse_list(text: &str) -> Result<Vec<Pattern>, SqlStateListError> {
    let patterns: Vec<Pattern> = text
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .enumerate()
        .map(|(index, entry)| {
            let upper = entry.to_ascii_uppercase();
            let valid = matches!(upper.len(), 2 | 5)
                && upper
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
            if !valid {
                return Err(SqlStateListError::NotASqlState {
                    position: index + 1,
                });
            }
            Ok(Pattern {
                packed: pack(upper.as_bytes()),
                class: upper.len() == 2,
            })
        })
        .collect::<Result<_, _>>()?;
    if patterns.len() > MAX_PATTERNS {
        return Err(SqlStateListError::TooMany);
    }
    Ok(patterns)
}

/// `MAKE_SQLSTATE` of up to five characters (a class packs its two).
pub fn pack(code: &[u8]) -> i32 {
    code.iter().take(5).enumerate().fold(0, |packed, (i, &c)| {
        packed | (((c.wrapping_sub(b'0')) as i32 & 0x3F) << (6 * i))
    })
}

/// The five characters of a packed code (`unpack_sql_state`).
fn unpack(sqlerrcode: i32) -> [u8; 5] {
    let mut code = [0u8; 5];
    for (i, c) in code.iter_mut().enumerate() {
        *c = (((sqlerrcode >> (6 * i)) & 0x3F) as u8).wrapping_add(b'0');
    }
    code
}

/// A packed code as the text PostgreSQL shows, e.g. `22012`.
pub fn text(sqlerrcode: i32) -> String {
    String::from_utf8_lossy(&unpack(sqlerrcode)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_pack_as_postgres_packs_them() {
        // ERRCODE_UNIQUE_VIOLATION and ERRCODE_QUERY_CANCELED as
        // PostgreSQL 15's errcodes.h computes them.
        assert_eq!(pack(b"23505"), 83_906_754);
        assert_eq!(pack(b"57014"), 67_371_461);
        for code in ["23505", "40P01", "XX000", "0100C"] {
            assert_eq!(&unpack(pack(code.as_bytes())), code.as_bytes());
        }
    }

    #[test]
    fn lists_match_codes_and_classes() {
        let list = parse_list(" 57014, 40p01 ,,23 ").unwrap();
        assert!(ignored(&list, pack(b"57014")));
        assert!(ignored(&list, pack(b"40P01")));
        assert!(ignored(&list, pack(b"23505")));
        assert!(ignored(&list, pack(b"23503")));
        assert!(!ignored(&list, pack(b"22012")));
        assert!(!ignored(&list, pack(b"40001")));
        assert!(parse_list("").unwrap().is_empty());
    }

    #[test]
    fn bad_entries_are_refused_by_position() {
        assert_eq!(
            parse_list("57014, 5701"),
            Err(SqlStateListError::NotASqlState { position: 2 })
        );
        assert!(parse_list("unique_violation").is_err());
        let many = vec!["23505"; MAX_PATTERNS + 1].join(",");
        assert_eq!(parse_list(&many), Err(SqlStateListError::TooMany));
    }
}
