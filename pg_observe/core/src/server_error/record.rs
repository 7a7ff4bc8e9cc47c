//! The bytes a record of the capture ring carries (`crate::ring` moves
//! them). A server error is written by `emit_log_hook`, so encoding works on
//! byte slices into a buffer the caller reserved, with no allocation; each
//! text field is cut to its bound on a character boundary and the cut is
//! marked. A durable event carries the id it will be stored under and its
//! processed form (`crate::wire`).

use thiserror::Error;

/// What a ring record holds (`ring::RecordMeta::kind`).
pub const KIND_SERVER_ERROR: u32 = 1;
pub const KIND_DURABLE_EVENT: u32 = 2;

/// The text fields of a server error, in record order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Message,
    Detail,
    Hint,
    Context,
    Statement,
    ApplicationName,
    BackendType,
}

pub const FIELDS: usize = 7;

impl Field {
    pub const ALL: [Field; FIELDS] = [
        Field::Message,
        Field::Detail,
        Field::Hint,
        Field::Context,
        Field::Statement,
        Field::ApplicationName,
        Field::BackendType,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Message => "message",
            Field::Detail => "detail",
            Field::Hint => "hint",
            Field::Context => "context",
            Field::Statement => "statement",
            Field::ApplicationName => "application_name",
            Field::BackendType => "backend_type",
        }
    }

    /// Bytes a record keeps of the field, so that a record stays a few KiB
    /// at most (plus the statement, bounded by `observe.capture_statement_max`
    /// in characters, at most `MAX_STATEMENT_CHARS`). The message keeps what
    /// `observe.max_message_bytes` keeps by default; a PL/pgSQL context is
    /// its call stack.
    pub fn max_bytes(self) -> usize {
        match self {
            Field::Message | Field::Context => 8 * 1024,
            Field::Detail => 2 * 1024,
            Field::Hint => 1024,
            Field::Statement => 4 * MAX_STATEMENT_CHARS,
            Field::ApplicationName | Field::BackendType => 64,
        }
    }
}

/// Most characters of a statement any setting keeps.
pub const MAX_STATEMENT_CHARS: usize = 16 * 1024;

/// The numbers of a server error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meta {
    pub elevel: i32,
    /// Packed as PostgreSQL packs it (`MAKE_SQLSTATE`).
    pub sqlerrcode: i32,
    /// The role the session acted as (`GetOuterUserId`), and its login role.
    pub role: u32,
    pub session_role: u32,
    pub pid: i32,
    /// 1-based character position of the error in the statement; 0 for none.
    pub cursor_position: i32,
}

const META_WORDS: usize = 6;
/// The meta words, the truncation bits and one length per field.
const PREFIX: usize = 4 * (META_WORDS + 1 + FIELDS);

/// How much of `text` a field keeps: at most `max_bytes`, and at most
/// `max_chars` characters when given; never a partial UTF-8 sequence.
/// Returns the kept length and whether anything was cut.
pub fn kept(text: &[u8], max_bytes: usize, max_chars: Option<usize>) -> (usize, bool) {
    let mut end = text.len().min(max_bytes);
    if let Some(max_chars) = max_chars {
        let mut chars = 0;
        for (at, &byte) in text[..end].iter().enumerate() {
            if byte & 0xC0 != 0x80 {
                if chars == max_chars {
                    end = at;
                    break;
                }
                chars += 1;
            }
        }
    }
    while end < text.len() && end > 0 && text[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    (end, end < text.len())
}

/// Bytes a record of fields of these lengths takes.
pub fn encoded_len(lens: &[usize; FIELDS]) -> usize {
    PREFIX + lens.iter().sum::<usize>()
}

/// Writes a server error into `out`, which is exactly `encoded_len` of the
/// fields' lengths long. `truncated` has bit `i` set when field `i` was cut.
pub fn encode(out: &mut [u8], meta: &Meta, fields: &[&[u8]; FIELDS], truncated: u32) {
    let words = [
        meta.elevel as u32,
        meta.sqlerrcode as u32,
        meta.role,
        meta.session_role,
        meta.pid as u32,
        meta.cursor_position as u32,
        truncated,
    ];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        if let Some(target) = out.get_mut(at..at + bytes.len()) {
            target.copy_from_slice(bytes);
        }
        at += bytes.len();
    };
    for word in words {
        put(&word.to_le_bytes());
    }
    for field in fields {
        put(&(field.len() as u32).to_le_bytes());
    }
    for field in fields {
        put(field);
    }
}

/// A server error read back from its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub meta: Meta,
    /// Indexed like `Field::ALL`; empty when PostgreSQL gave none.
    pub fields: [String; FIELDS],
    pub truncated: Vec<Field>,
}

impl Decoded {
    pub fn field(&self, field: Field) -> Option<&str> {
        Some(self.fields[field as usize].as_str()).filter(|f| !f.is_empty())
    }
}

/// A record that does not read back: only memory corruption makes one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed capture record: {0}")]
pub struct RecordError(&'static str);

pub fn decode(bytes: &[u8]) -> Result<Decoded, RecordError> {
    let word = |index: usize| -> Result<u32, RecordError> {
        bytes
            .get(4 * index..4 * index + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or(RecordError("shorter than its header"))
    };
    let meta = Meta {
        elevel: word(0)? as i32,
        sqlerrcode: word(1)? as i32,
        role: word(2)?,
        session_role: word(3)?,
        pid: word(4)? as i32,
        cursor_position: word(5)? as i32,
    };
    let truncated_bits = word(META_WORDS)?;
    let mut at = PREFIX;
    let mut fields: [String; FIELDS] = Default::default();
    for (index, field) in fields.iter_mut().enumerate() {
        let len = word(META_WORDS + 1 + index)? as usize;
        let text = bytes
            .get(at..at + len)
            .ok_or(RecordError("a field runs past the record"))?;
        *field = String::from_utf8_lossy(text).into_owned();
        at += len;
    }
    let truncated = Field::ALL
        .into_iter()
        .enumerate()
        .filter(|(index, _)| truncated_bits & (1 << index) != 0)
        .map(|(_, field)| field)
        .collect();
    Ok(Decoded {
        meta,
        fields,
        truncated,
    })
}

/// A durable event: who wrote it, the id it is stored under, and its
/// processed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durable<'a> {
    pub role: u32,
    pub id: [u8; 16],
    pub event: &'a [u8],
}

const DURABLE_PREFIX: usize = 4 + 16;

impl Durable<'_> {
    pub fn encoded_len(&self) -> usize {
        DURABLE_PREFIX + self.event.len()
    }

    /// Writes into `out`, exactly `encoded_len` bytes long.
    pub fn encode(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.role.to_le_bytes());
        out[4..DURABLE_PREFIX].copy_from_slice(&self.id);
        out[DURABLE_PREFIX..].copy_from_slice(self.event);
    }

    pub fn decode(bytes: &[u8]) -> Result<Durable<'_>, RecordError> {
        if bytes.len() < DURABLE_PREFIX {
            return Err(RecordError("shorter than a durable event's header"));
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[4..DURABLE_PREFIX]);
        Ok(Durable {
            role: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            id,
            event: &bytes[DURABLE_PREFIX..],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_with_their_cuts() {
        let meta = Meta {
            elevel: 21,
            sqlerrcode: 0x1234,
            role: 10,
            session_role: 16384,
            pid: 4242,
            cursor_position: 7,
        };
        let fields: [&[u8]; FIELDS] = [
            b"division by zero",
            b"",
            b"",
            b"PL/pgSQL function f() line 3 at RAISE",
            b"select f()",
            b"psql",
            b"client backend",
        ];
        let lens = fields.map(<[u8]>::len);
        let mut out = vec![0u8; encoded_len(&lens)];
        encode(&mut out, &meta, &fields, 1 << Field::Statement as u32);
        let decoded = decode(&out).unwrap();
        assert_eq!(decoded.meta, meta);
        assert_eq!(decoded.field(Field::Message), Some("division by zero"));
        assert_eq!(decoded.field(Field::Detail), None);
        assert_eq!(decoded.field(Field::BackendType), Some("client backend"));
        assert_eq!(decoded.truncated, vec![Field::Statement]);
    }

    #[test]
    fn cuts_never_split_a_character() {
        let text = "añb€c".as_bytes();
        assert_eq!(kept(text, 100, None), (text.len(), false));
        assert_eq!(kept(text, 2, None), (1, true));
        assert_eq!(kept(text, 3, None), (3, true));
        assert_eq!(kept(text, 100, Some(3)), ("añb".len(), true));
        assert_eq!(kept(text, 100, Some(5)), (text.len(), false));
        assert_eq!(kept(text, 5, Some(4)), ("añb".len(), true));
        assert_eq!(kept(b"", 10, Some(0)), (0, false));
    }

    #[test]
    fn malformed_records_are_refused() {
        assert!(decode(&[0u8; 10]).is_err());
        let mut out = vec![0u8; encoded_len(&[0; FIELDS])];
        encode(&mut out, &Meta::default(), &[b""; FIELDS], 0);
        out[4 * (META_WORDS + 1)] = 200;
        assert!(decode(&out).is_err());
        assert!(Durable::decode(&[0u8; 5]).is_err());
    }

    #[test]
    fn durable_events_round_trip() {
        let durable = Durable {
            role: 77,
            id: [9; 16],
            event: b"{\"message\":\"x\"}",
        };
        let mut out = vec![0u8; durable.encoded_len()];
        durable.encode(&mut out);
        assert_eq!(Durable::decode(&out).unwrap(), durable);
    }
}
