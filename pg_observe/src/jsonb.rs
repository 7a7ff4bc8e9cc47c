//! jsonb arguments read straight from PostgreSQL's binary format, with a
//! bound on the work. pgrx's `JsonB` prints the whole value as text and parses
//! it back with serde: a 60 MB context costs a second nobody can cancel, and
//! nesting deeper than serde's 128 levels fails the call. Here a top-level
//! field is found by the binary search jsonb keeps its keys in, a value is
//! copied only up to a byte budget and a depth (what lies beyond is cut and
//! reported, the way `limits::limit_json` reports it), and every member
//! visited checks for interrupts. The final limits are still applied after
//! scrubbing (ARCHITECTURE.md, "The capture pipeline").

use std::ffi::CStr;
use std::ptr::NonNull;

use pg_observe_core::as_given::{self, Item};
use pg_observe_core::limits::{read_cost, JsonLimitReport, Limits, DEPTH_MARKER};
use pg_observe_core::scrub::Scrubber;
use pgrx::callconv::{Arg, ArgAbi};
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::FromDatum;
use serde_json::{Map, Number, Value};

/// A jsonb argument, detoasted but not converted.
pub struct RawJsonb(NonNull<pg_sys::Jsonb>);

impl RawJsonb {
    /// The detoasted argument as a datum, valid for the call.
    pub fn datum(&self) -> pg_sys::Datum {
        pg_sys::Datum::from(self.0.as_ptr())
    }
}

impl FromDatum for RawJsonb {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        // SAFETY: the caller passes a jsonb datum; detoasting returns a
        // palloc'd (or the original, in-line) varlena that lives for the call.
        let detoasted = unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) };
        NonNull::new(detoasted.cast()).map(RawJsonb)
    }
}

// SAFETY: unboxed through FromDatum, like pgrx's own JsonB.
unsafe impl<'fcx> ArgAbi<'fcx> for RawJsonb {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }
}

// SAFETY: the SQL type is jsonb, the same as pgrx's JsonB.
unsafe impl SqlTranslatable for RawJsonb {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(RawJsonb);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
}

impl RawJsonb {
    pub fn root(&self) -> Node<'_> {
        // SAFETY: a detoasted jsonb starts with its varlena header and root container.
        Node::Container(
            unsafe { NonNull::from(&mut (*self.0.as_ptr()).root) },
            std::marker::PhantomData,
        )
    }
}

/// A value inside a `RawJsonb`: a container still in binary form, or a
/// scalar already read.
pub enum Node<'a> {
    Container(
        NonNull<pg_sys::JsonbContainer>,
        std::marker::PhantomData<&'a RawJsonb>,
    ),
    Scalar(Value),
}

/// What a bounded read kept, and what it cut.
pub struct Bounded {
    pub value: Value,
    pub report: JsonLimitReport,
}

impl<'a> Node<'a> {
    /// The JSON type's name as error messages give it, without the value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Container(container, _) => {
                if is_object(*container) {
                    "an object"
                } else if is_scalar(*container) {
                    match self.bounded(64, 1).value {
                        Value::Null => "null",
                        Value::Bool(_) => "a boolean",
                        Value::Number(_) => "a number",
                        _ => "a string",
                    }
                } else {
                    "an array"
                }
            }
            Node::Scalar(Value::Null) => "null",
            Node::Scalar(Value::Bool(_)) => "a boolean",
            Node::Scalar(Value::Number(_)) => "a number",
            Node::Scalar(Value::String(_)) => "a string",
            Node::Scalar(Value::Array(_)) => "an array",
            Node::Scalar(Value::Object(_)) => "an object",
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Node::Container(c, _) if is_object(*c))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Node::Container(c, _) if !is_object(*c) && !is_scalar(*c))
    }

    /// Visits an object's members (name and value, values unread) in
    /// jsonb's order until `visit` returns false.
    pub fn members(&self, mut visit: impl FnMut(String, Node<'a>) -> bool) {
        let Node::Container(container, _) = self else {
            return;
        };
        if !is_object(*container) {
            return;
        }
        let mut key = String::new();
        walk(*container, |token, value| {
            pgrx::check_for_interrupts!();
            match token {
                pg_sys::JsonbIteratorToken::WJB_KEY => {
                    key = string(value);
                    true
                }
                pg_sys::JsonbIteratorToken::WJB_VALUE => {
                    visit(std::mem::take(&mut key), node(value))
                }
                _ => true,
            }
        });
    }

    /// Visits an array's elements until `visit` returns false.
    pub fn elements(&self, mut visit: impl FnMut(Node<'a>) -> bool) {
        let Node::Container(container, _) = self else {
            return;
        };
        if is_object(*container) || is_scalar(*container) {
            return;
        }
        walk(*container, |token, value| {
            pgrx::check_for_interrupts!();
            token != pg_sys::JsonbIteratorToken::WJB_ELEM || visit(node(value))
        });
    }

    /// Members of an object or elements of an array, read from the
    /// container's header without visiting them.
    pub fn len(&self) -> usize {
        match self {
            Node::Container(container, _) => (header(*container) & pg_sys::JB_CMASK) as usize,
            Node::Scalar(_) => 0,
        }
    }

    /// Whether reading this object and processing it would keep it exactly
    /// as it is (`pg_observe_core::as_given`): then it can be stored as the
    /// caller's datum without being converted at all.
    pub fn is_as_given(&self, limits: &Limits, scrubber: &Scrubber) -> bool {
        match self {
            Node::Container(container, _) if is_object(*container) => {
                as_given::is_as_given(&Binary(*container), limits, scrubber)
            }
            _ => false,
        }
    }

    /// The value as serde JSON, at most about `max_bytes` of it when
    /// serialized and `max_depth` levels deep (the root is level 1).
    pub fn bounded(&self, max_bytes: usize, max_depth: usize) -> Bounded {
        let mut reader = Reader {
            budget: max_bytes,
            max_depth,
            report: JsonLimitReport::default(),
        };
        let value = match self {
            Node::Scalar(value) => reader.scalar(value.clone()),
            Node::Container(container, _) => reader.container(*container, 1),
        };
        Bounded {
            value,
            report: reader.report,
        }
    }
}

struct Reader {
    budget: usize,
    max_depth: usize,
    report: JsonLimitReport,
}

impl Reader {
    fn container(&mut self, container: NonNull<pg_sys::JsonbContainer>, depth: usize) -> Value {
        if depth > self.max_depth {
            self.report.depth_limited = true;
            return self.scalar(Value::String(DEPTH_MARKER.to_owned()));
        }
        if is_scalar(container) {
            let mut scalar = Value::Null;
            walk(container, |token, value| {
                if token == pg_sys::JsonbIteratorToken::WJB_ELEM {
                    scalar = scalar_value(value);
                }
                true
            });
            return self.scalar(scalar);
        }
        let object = is_object(container);
        self.spend(read_cost::CONTAINER);
        let mut members = Map::new();
        let mut items = Vec::new();
        let mut key = None;
        walk(container, |token, value| {
            pgrx::check_for_interrupts!();
            match token {
                pg_sys::JsonbIteratorToken::WJB_KEY => {
                    let name = string(value);
                    if !self.spend(read_cost::key(name.len())) {
                        return false;
                    }
                    key = Some(name);
                }
                pg_sys::JsonbIteratorToken::WJB_VALUE | pg_sys::JsonbIteratorToken::WJB_ELEM => {
                    if self.budget == 0 {
                        self.report.truncated = true;
                        return false;
                    }
                    let member = match node(value) {
                        Node::Container(inner, _) => self.container(inner, depth + 1),
                        Node::Scalar(scalar) => self.scalar(scalar),
                    };
                    if object {
                        members.insert(key.take().unwrap_or_default(), member);
                    } else {
                        self.spend(read_cost::ELEMENT);
                        items.push(member);
                    }
                }
                _ => {}
            }
            true
        });
        if object {
            Value::Object(members)
        } else {
            Value::Array(items)
        }
    }

    /// Takes a scalar, cutting a string to what is left of the budget.
    fn scalar(&mut self, value: Value) -> Value {
        match value {
            Value::String(mut text) => {
                let room = self.budget.saturating_sub(read_cost::string(0));
                if text.len() > room {
                    let mut cut = room;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    text.truncate(cut);
                    self.report.truncated = true;
                }
                self.spend(read_cost::string(text.len()));
                Value::String(text)
            }
            other => {
                self.spend(read_cost::SCALAR);
                other
            }
        }
    }

    /// Counts `bytes` against the budget; false (and the value reported cut)
    /// when the budget is gone.
    fn spend(&mut self, bytes: usize) -> bool {
        if self.budget < bytes {
            self.budget = 0;
            self.report.truncated = true;
            return false;
        }
        self.budget -= bytes;
        true
    }
}

/// A container walked in place, for `as_given`.
struct Binary(NonNull<pg_sys::JsonbContainer>);

impl as_given::Container for Binary {
    fn is_array(&self) -> bool {
        !is_object(self.0) && !is_scalar(self.0)
    }

    fn count(&self) -> usize {
        (header(self.0) & pg_sys::JB_CMASK) as usize
    }

    fn visit(&self, mut visit: impl FnMut(Option<&str>, Item<'_, Self>) -> bool) -> bool {
        let mut complete = true;
        let mut key: Option<&str> = None;
        walk(self.0, |token, value| {
            let going = match token {
                pg_sys::JsonbIteratorToken::WJB_KEY => match text(value) {
                    Some(name) => {
                        key = Some(name);
                        true
                    }
                    None => false,
                },
                pg_sys::JsonbIteratorToken::WJB_VALUE | pg_sys::JsonbIteratorToken::WJB_ELEM => {
                    item(value).is_some_and(|item| visit(key.take(), item))
                }
                _ => true,
            };
            complete &= going;
            going
        });
        complete
    }
}

/// A member or element as `as_given` takes it; None for text that is not UTF-8.
fn item<'v>(value: &pg_sys::JsonbValue) -> Option<Item<'v, Binary>> {
    Some(match value.type_ {
        pg_sys::jbvType::jbvBinary => {
            // SAFETY: a binary value points at a nested container of the same datum.
            Item::Container(Binary(NonNull::new(unsafe { value.val.binary.data })?))
        }
        pg_sys::jbvType::jbvString => Item::Text(text(value)?),
        // SAFETY: the tag says the union holds a boolean.
        pg_sys::jbvType::jbvBool => Item::Bool(unsafe { value.val.boolean }),
        pg_sys::jbvType::jbvNumeric => Item::Number,
        _ => Item::Null,
    })
}

/// A jbvString's bytes in place, if they are UTF-8.
fn text<'v>(value: &pg_sys::JsonbValue) -> Option<&'v str> {
    // SAFETY: a jbvString points at `len` bytes inside the datum, which
    // outlives the walk.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            value.val.string.val.cast::<u8>(),
            value.val.string.len.max(0) as usize,
        )
    };
    std::str::from_utf8(bytes).ok()
}

/// Iterates a container's direct members (nested containers come back as
/// binary values, unread) until `visit` returns false.
fn walk(
    container: NonNull<pg_sys::JsonbContainer>,
    mut visit: impl FnMut(pg_sys::JsonbIteratorToken::Type, &pg_sys::JsonbValue) -> bool,
) {
    let mut value = pg_sys::JsonbValue {
        type_: pg_sys::jbvType::jbvNull,
        val: pg_sys::JsonbValue__bindgen_ty_1 { boolean: false },
    };
    // SAFETY: the iterator reads the container, which outlives this call;
    // skipNested keeps it at this level, and it frees itself when done.
    unsafe {
        let mut iterator = pg_sys::JsonbIteratorInit(container.as_ptr());
        loop {
            let token = pg_sys::JsonbIteratorNext(&mut iterator, &mut value, true);
            if token == pg_sys::JsonbIteratorToken::WJB_DONE || !visit(token, &value) {
                break;
            }
        }
    }
}

fn header(container: NonNull<pg_sys::JsonbContainer>) -> u32 {
    // SAFETY: every container starts with its header word.
    unsafe { (*container.as_ptr()).header }
}

fn is_object(container: NonNull<pg_sys::JsonbContainer>) -> bool {
    header(container) & pg_sys::JB_FOBJECT != 0
}

fn is_scalar(container: NonNull<pg_sys::JsonbContainer>) -> bool {
    header(container) & pg_sys::JB_FSCALAR != 0
}

fn node<'a>(value: &pg_sys::JsonbValue) -> Node<'a> {
    if value.type_ == pg_sys::jbvType::jbvBinary {
        // SAFETY: a binary value points at a nested container of the same datum.
        let data = unsafe { value.val.binary.data };
        if let Some(container) = NonNull::new(data) {
            return Node::Container(container, std::marker::PhantomData);
        }
    }
    Node::Scalar(scalar_value(value))
}

fn scalar_value(value: &pg_sys::JsonbValue) -> Value {
    // SAFETY: each arm reads the union member its type tag names.
    unsafe {
        match value.type_ {
            pg_sys::jbvType::jbvString => Value::String(string(value)),
            pg_sys::jbvType::jbvBool => Value::Bool(value.val.boolean),
            pg_sys::jbvType::jbvNumeric => numeric(value.val.numeric),
            _ => Value::Null,
        }
    }
}

fn string(value: &pg_sys::JsonbValue) -> String {
    // SAFETY: a jbvString points at `len` bytes of UTF-8 (the database
    // encoding; pg_observe's clusters are UTF8) inside the datum.
    unsafe {
        let bytes = std::slice::from_raw_parts(
            value.val.string.val.cast::<u8>(),
            value.val.string.len.max(0) as usize,
        );
        String::from_utf8_lossy(bytes).into_owned()
    }
}

fn numeric(numeric: pg_sys::Numeric) -> Value {
    // SAFETY: numeric_out prints a valid Numeric into a palloc'd C string.
    let text = unsafe {
        let printed = pgrx::direct_function_call::<&CStr>(
            pg_sys::numeric_out,
            &[Some(pg_sys::Datum::from(numeric))],
        );
        printed.map(|c| c.to_string_lossy().into_owned())
    };
    text.and_then(|t| t.parse::<Number>().ok())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
