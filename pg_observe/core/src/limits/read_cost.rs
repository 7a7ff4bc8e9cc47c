//! What a bounded reader of stored JSON (the extension's `jsonb.rs`) counts
//! against its byte budget for each part it copies: close to the part's
//! serialized size, known without serializing it. `as_given` counts the
//! same way, so it can tell when that reader would cut.

/// An object or array: its brackets.
pub const CONTAINER: usize = 2;
/// Each element of an array: its comma.
pub const ELEMENT: usize = 1;
/// A null, boolean or number.
pub const SCALAR: usize = 8;

/// A member's name of `len` bytes: its quotes, colon and comma.
pub const fn key(len: usize) -> usize {
    len + 4
}

/// A string value of `len` bytes: its quotes.
pub const fn string(len: usize) -> usize {
    len + 2
}
