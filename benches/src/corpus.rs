//! Loads the benchmark corpus: the checked-in `corpus/*.jsonl` files and the
//! stack trace fixtures of `pg_observe_core`, which are real runtime output
//! and would only be worse as copies.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// An error as a capture call receives it.
#[derive(Debug, Clone)]
pub struct Message {
    pub exception_type: Option<String>,
    pub message: String,
}

/// A stack trace fixture with the message its runtime printed with it.
#[derive(Debug, Clone)]
pub struct StackEvent {
    pub message: String,
    pub stack: String,
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn messages_path() -> PathBuf {
    manifest_dir().join("corpus/messages.jsonl")
}

pub fn contexts_path() -> PathBuf {
    manifest_dir().join("corpus/contexts.jsonl")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn json_lines(path: &Path) -> Vec<Value> {
    read(path)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

pub fn messages() -> Vec<Message> {
    json_lines(&messages_path())
        .into_iter()
        .map(|line| Message {
            exception_type: line["type"].as_str().map(str::to_owned),
            message: line["message"]
                .as_str()
                .expect("every corpus line has a message")
                .to_owned(),
        })
        .collect()
}

pub fn contexts() -> Vec<Value> {
    json_lines(&contexts_path())
}

/// Sorted by file name, so the order (and any per-item average) is stable.
/// The message is the trace's first line: for most runtimes the error
/// itself. Grouping by stack reads the message only for PL/pgSQL, whose
/// first line is always the error, so Python's `Traceback (most recent call
/// last):` costs nothing in accuracy.
pub fn stacks() -> Vec<StackEvent> {
    let dir = manifest_dir().join("../pg_observe/core/tests/fixtures/stacks");
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let stack = read(path);
            let message = stack.lines().next().unwrap_or_default().trim().to_owned();
            StackEvent { message, stack }
        })
        .collect()
}
