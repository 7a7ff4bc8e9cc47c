//! One row into one of the extension's day-partitioned tables, straight into
//! its partition's heap and indexes, the way COPY and the catalog code
//! insert, with no statement planned or run. `observe.log` spent more time
//! starting the executor for its one-row INSERT than on anything else
//! (benches/RESULTS.md, section 3).
//!
//! Only for a table exactly as the extension makes it: partitioned by range
//! on one timestamptz column, the row's partition a plain table without
//! triggers, CHECK constraints or generated columns, whose indexes are on
//! plain columns and not unique, and whose columns are exactly the ones the
//! caller gives, of the types it gives. Anything else (a trigger or a column
//! someone added, a partition that is a foreign table, no partition for the
//! row) returns [`Inserted::NotDirectly`], and the caller runs its INSERT,
//! which the executor checks in full. Locks are the executor's: the parent,
//! then the partition and its indexes, RowExclusiveLock, held to the end of
//! the transaction.

use std::cell::RefCell;
use std::ffi::{CStr, CString};

use pgrx::pg_sys;

use crate::catalog_changes;

thread_local! {
    /// Enum values already read, by type and label, with the catalog
    /// changes seen then (`catalog_changes`). An enum value is the oid of its
    /// label, the same until the type changes, so `enum_in`'s catalog lookups
    /// need not be repeated for every row.
    static LABELS: RefCell<(u64, Vec<Label>)> = const { RefCell::new((0, Vec::new())) };
}

/// An enum type, one of its labels and the label's value.
type Label = (pg_sys::Oid, CString, pg_sys::Datum);

/// What a column of the row holds.
pub enum Value<'a> {
    Null,
    /// A datum of the given type.
    Datum(pg_sys::Datum, pg_sys::Oid),
    /// Text for the column type's own input function (an enum label, a name).
    Input(&'a CStr),
}

pub struct Column<'a> {
    pub name: &'static str,
    pub value: Value<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Directly,
    /// The table is not as the extension made it: run the INSERT instead.
    NotDirectly,
}

/// The head of PostgreSQL 15's `PartitionKeyData` (utils/partcache.h), which
/// pgrx's bindings leave opaque; only these fields are read.
#[repr(C)]
struct PartitionKeyHead {
    strategy: std::ffi::c_char,
    partnatts: i16,
    partattrs: *const pg_sys::AttrNumber,
    partexprs: *const pg_sys::List,
    partopfamily: *const pg_sys::Oid,
    partopcintype: *const pg_sys::Oid,
    partsupfunc: *mut pg_sys::FmgrInfo,
    partcollation: *mut pg_sys::Oid,
    parttypid: *const pg_sys::Oid,
}

unsafe extern "C-unwind" {
    #[link_name = "RelationGetPartitionKey"]
    fn relation_get_partition_key(rel: pg_sys::Relation) -> *const PartitionKeyHead;
}

/// `RelationGetPartitionKey`, which may raise (it builds the key on first
/// use), behind pgrx's FFI guard like every binding.
unsafe fn partition_key(relation: pg_sys::Relation) -> *const PartitionKeyHead {
    unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| relation_get_partition_key(relation)) }
}

/// Inserts `row` into `schema.table`. The caller holds no lock on it yet.
pub fn insert(schema: &CStr, table: &CStr, row: &[Column<'_>]) -> Inserted {
    // SAFETY: catalog lookups and relation access as the executor makes them,
    // every pointer read checked against the relation it comes from; PostgreSQL
    // errors become Rust panics at each call (pgrx's FFI guard).
    unsafe {
        // The executor refuses to write in a read-only transaction (and in
        // parallel mode) with its own SQLSTATE; the heap would not.
        if pg_sys::XactReadOnly || pg_sys::IsInParallelMode() {
            return Inserted::NotDirectly;
        }
        let namespace = pg_sys::get_namespace_oid(schema.as_ptr(), false);
        let parent_oid = pg_sys::get_relname_relid(table.as_ptr(), namespace);
        if parent_oid == pg_sys::InvalidOid {
            return Inserted::NotDirectly;
        }
        let lock = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
        let parent = pg_sys::table_open(parent_oid, lock);
        let inserted = match partition_of(parent, row) {
            Some(partition_oid) => {
                let partition = pg_sys::table_open(partition_oid, lock);
                // Taking the lock read any invalidation: a partition attached
                // meanwhile may now take the row that the default partition
                // would have (the executor rechecks the default partition's
                // constraint for the same reason). Routed elsewhere now, the
                // row is the executor's.
                let inserted = if partition_of(parent, row) == Some(partition_oid) {
                    insert_into(partition, row)
                } else {
                    Inserted::NotDirectly
                };
                pg_sys::table_close(partition, pg_sys::NoLock as pg_sys::LOCKMODE);
                inserted
            }
            None => Inserted::NotDirectly,
        };
        pg_sys::table_close(parent, pg_sys::NoLock as pg_sys::LOCKMODE);
        inserted
    }
}

/// The leaf partition that takes `row`, as the executor routes it; None
/// when the table is not range-partitioned on one timestamptz column given
/// in `row`, or no partition takes the row.
unsafe fn partition_of(parent: pg_sys::Relation, row: &[Column<'_>]) -> Option<pg_sys::Oid> {
    unsafe {
        let class = &*(*parent).rd_rel;
        if class.relkind != pg_sys::RELKIND_PARTITIONED_TABLE as std::ffi::c_char
            || class.relhastriggers
            || class.relforcerowsecurity
        {
            return None;
        }
        let key = &*partition_key(parent);
        if key.strategy != pg_sys::PARTITION_STRATEGY_RANGE as std::ffi::c_char
            || key.partnatts != 1
            || !key.partexprs.is_null()
            || *key.parttypid != pg_sys::TIMESTAMPTZOID
        {
            return None;
        }
        let attribute = attribute(parent, *key.partattrs)?;
        let mut value = match row.iter().find(|column| column.name == attribute)?.value {
            Value::Datum(datum, type_oid) if type_oid == pg_sys::TIMESTAMPTZOID => datum,
            _ => return None,
        };
        let descriptor = pg_sys::RelationGetPartitionDesc(parent, true);
        let bounds = (*descriptor).boundinfo;
        if bounds.is_null() {
            return None;
        }
        let mut equal = false;
        let offset = pg_sys::partition_range_datum_bsearch(
            key.partsupfunc,
            key.partcollation,
            bounds,
            1,
            &mut value,
            &mut equal,
        );
        // The bound at `offset` is the greatest not above the value, so the
        // partition it starts is the next index (get_partition_for_tuple).
        let slot = usize::try_from(offset + 1).ok()?;
        if slot >= usize::try_from((*bounds).nindexes).ok()? {
            return None;
        }
        let mut index = *(*bounds).indexes.add(slot);
        if index < 0 {
            index = (*bounds).default_index;
        }
        let index = usize::try_from(index).ok()?;
        if index >= usize::try_from((*descriptor).nparts).ok()?
            || !*(*descriptor).is_leaf.add(index)
        {
            return None;
        }
        Some(*(*descriptor).oids.add(index))
    }
}

/// The name of `relation`'s attribute `number` (1-based), unless dropped.
unsafe fn attribute(relation: pg_sys::Relation, number: pg_sys::AttrNumber) -> Option<String> {
    unsafe {
        let descriptor = &*(*relation).rd_att;
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        if index >= usize::try_from(descriptor.natts).ok()? {
            return None;
        }
        let attribute = &*descriptor.attrs.as_ptr().add(index);
        if attribute.attisdropped {
            return None;
        }
        CStr::from_ptr(attribute.attname.data.as_ptr())
            .to_str()
            .ok()
            .map(str::to_owned)
    }
}

/// The row into `partition`, if it is as the extension made it.
unsafe fn insert_into(partition: pg_sys::Relation, row: &[Column<'_>]) -> Inserted {
    unsafe {
        let class = &*(*partition).rd_rel;
        let descriptor = (*partition).rd_att;
        let constraints = (*descriptor).constr;
        if class.relkind != pg_sys::RELKIND_RELATION as std::ffi::c_char
            || class.relhastriggers
            || (!constraints.is_null()
                && ((*constraints).num_check > 0 || (*constraints).has_generated_stored))
        {
            return Inserted::NotDirectly;
        }
        let Some((mut values, mut nulls)) = datums(descriptor, row) else {
            return Inserted::NotDirectly;
        };
        let Some(indexes) = open_indexes(partition) else {
            return Inserted::NotDirectly;
        };
        let tuple = pg_sys::heap_form_tuple(descriptor, values.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::simple_heap_insert(partition, tuple);
        if !indexes.is_empty() {
            let slot = pg_sys::MakeSingleTupleTableSlot(descriptor, &pg_sys::TTSOpsHeapTuple);
            pg_sys::ExecStoreHeapTuple(tuple, slot, false);
            let mut key = [pg_sys::Datum::from(0); pg_sys::INDEX_MAX_KEYS as usize];
            let mut key_nulls = [false; pg_sys::INDEX_MAX_KEYS as usize];
            for &(index, info) in &indexes {
                pg_sys::FormIndexDatum(
                    info,
                    slot,
                    std::ptr::null_mut(),
                    key.as_mut_ptr(),
                    key_nulls.as_mut_ptr(),
                );
                pg_sys::index_insert(
                    index,
                    key.as_mut_ptr(),
                    key_nulls.as_mut_ptr(),
                    &mut (*tuple).t_self,
                    partition,
                    pg_sys::IndexUniqueCheck::UNIQUE_CHECK_NO,
                    false,
                    info,
                );
            }
            pg_sys::ExecDropSingleTupleTableSlot(slot);
        }
        for (index, _) in indexes {
            pg_sys::index_close(index, pg_sys::NoLock as pg_sys::LOCKMODE);
        }
        Inserted::Directly
    }
}

/// The row as the partition's attributes in order: every live attribute
/// named once in `row`, with the type `row` gives; None otherwise, or when
/// a NOT NULL attribute would be null.
unsafe fn datums(
    descriptor: pg_sys::TupleDesc,
    row: &[Column<'_>],
) -> Option<(Vec<pg_sys::Datum>, Vec<bool>)> {
    unsafe {
        let count = usize::try_from((*descriptor).natts).ok()?;
        let mut values = Vec::with_capacity(count);
        let mut nulls = Vec::with_capacity(count);
        let mut given = 0;
        for index in 0..count {
            let attribute = &*(*descriptor).attrs.as_ptr().add(index);
            if attribute.attisdropped {
                values.push(pg_sys::Datum::from(0));
                nulls.push(true);
                continue;
            }
            let name = CStr::from_ptr(attribute.attname.data.as_ptr())
                .to_str()
                .ok()?;
            let column = row.iter().find(|column| column.name == name)?;
            given += 1;
            let datum = match column.value {
                Value::Null if attribute.attnotnull => return None,
                Value::Null => None,
                Value::Datum(datum, type_oid) if type_oid == attribute.atttypid => Some(datum),
                Value::Datum(..) => return None,
                Value::Input(text) => Some(input(attribute.atttypid, attribute.atttypmod, text)),
            };
            values.push(datum.unwrap_or(pg_sys::Datum::from(0)));
            nulls.push(datum.is_none());
        }
        (given == row.len()).then_some((values, nulls))
    }
}

/// `text` through the type's input function; an enum's label from the
/// labels already read when it is there.
unsafe fn input(type_oid: pg_sys::Oid, typmod: i32, text: &CStr) -> pg_sys::Datum {
    unsafe {
        let changes = catalog_changes::count();
        let known = LABELS.with_borrow_mut(|(seen, labels)| {
            if *seen != changes {
                labels.clear();
                *seen = changes;
            }
            labels
                .iter()
                .find(|(oid, label, _)| *oid == type_oid && label.as_c_str() == text)
                .map(|&(_, _, value)| value)
        });
        if let Some(value) = known {
            return value;
        }
        let (mut function, mut io_param) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
        pg_sys::getTypeInputInfo(type_oid, &mut function, &mut io_param);
        let value =
            pg_sys::OidInputFunctionCall(function, text.as_ptr().cast_mut(), io_param, typmod);
        if pg_sys::type_is_enum(type_oid) {
            LABELS.with_borrow_mut(|(seen, labels)| {
                if *seen == changes {
                    labels.push((type_oid, text.to_owned(), value));
                }
            });
        }
        value
    }
}

/// The partition's indexes ready for inserts, opened, each with its
/// `IndexInfo`; None (and nothing left open) if one is unique, an exclusion
/// constraint, or on an expression or with a predicate.
unsafe fn open_indexes(
    partition: pg_sys::Relation,
) -> Option<Vec<(pg_sys::Relation, *mut pg_sys::IndexInfo)>> {
    unsafe {
        let list = pg_sys::RelationGetIndexList(partition);
        let mut opened = Vec::new();
        let length = if list.is_null() { 0 } else { (*list).length };
        for position in 0..length {
            let oid = (*(*list).elements.add(position as usize)).oid_value;
            let index = pg_sys::index_open(oid, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
            let info = pg_sys::BuildIndexInfo(index);
            opened.push((index, info));
            if (*info).ii_Unique
                || !(*info).ii_ExclusionOps.is_null()
                || !(*info).ii_Expressions.is_null()
                || !(*info).ii_Predicate.is_null()
            {
                for (index, _) in opened {
                    pg_sys::index_close(index, pg_sys::NoLock as pg_sys::LOCKMODE);
                }
                return None;
            }
        }
        opened.retain(|&(index, info)| {
            let ready = (*info).ii_ReadyForInserts;
            if !ready {
                pg_sys::index_close(index, pg_sys::NoLock as pg_sys::LOCKMODE);
            }
            ready
        });
        Some(opened)
    }
}
