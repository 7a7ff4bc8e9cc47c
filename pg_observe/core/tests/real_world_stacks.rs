//! Stack parsing against traces other projects captured from real browsers and runtimes
//! and published as their own test fixtures (`tests/fixtures/stacks/real_world/`, one
//! file per source, each file naming where its traces come from).
//!
//! What matters for a user is the culprit: the frame an issue is filed under, which must
//! be the one a person reading the trace would blame.

use std::fs;
use std::path::Path;

use pg_observe_core::stack::{parse, Stack, StackFormat};

struct Trace {
    /// `file / NAME`, for failure messages.
    label: String,
    format: StackFormat,
    /// `None` when the text must not be read as a stack at all.
    culprit: Option<String>,
    text: String,
}

fn format_named(name: &str) -> StackFormat {
    match name {
        "V8" => StackFormat::V8,
        "Gecko" => StackFormat::Gecko,
        "JavaScriptCore" => StackFormat::JavaScriptCore,
        "Python" => StackFormat::Python,
        "Rust" => StackFormat::Rust,
        "PlPgSql" => StackFormat::PlPgSql,
        _ => panic!("unknown format {name:?}"),
    }
}

/// Reads one corpus file: comment lines, then blocks of `=== NAME`, `format: F`,
/// `culprit: C`, `---` and the trace text up to the next `=== `.
fn traces_in(file: &str, content: &str) -> Vec<Trace> {
    let mut traces = Vec::new();
    let mut blocks = content.split("\n=== ");
    let preamble = blocks.next().unwrap_or_default();
    assert!(
        preamble.lines().all(|l| l.is_empty() || l.starts_with('#')),
        "{file}: text before the first trace"
    );
    for block in blocks {
        let (head, text) = block
            .split_once("\n---\n")
            .unwrap_or_else(|| panic!("{file}: a trace without `---`: {block}"));
        let mut head = head.lines();
        let name = head.next().unwrap_or_default().trim();
        let mut format = None;
        let mut culprit = None;
        for line in head {
            match line.split_once(": ") {
                Some(("format", value)) => format = Some(format_named(value.trim())),
                Some(("culprit", value)) => culprit = Some(value.trim().to_owned()),
                _ => panic!("{file} / {name}: unexpected line {line:?}"),
            }
        }
        let culprit = culprit.unwrap_or_else(|| panic!("{file} / {name}: no culprit"));
        // The blank line that separates blocks is layout, not part of the trace.
        let text = text
            .trim_end_matches(|c: char| c.is_whitespace())
            .to_owned();
        assert!(!text.trim().is_empty(), "{file} / {name}: empty trace");
        traces.push(Trace {
            label: format!("{file} / {name}"),
            format: format.unwrap_or_else(|| panic!("{file} / {name}: no format")),
            culprit: (culprit != "None").then_some(culprit),
            text,
        });
    }
    traces
}

fn corpus() -> Vec<Trace> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stacks/real_world");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            traces_in(&name, &fs::read_to_string(path).unwrap())
        })
        .collect()
}

/// The frame an issue's culprit comes from, chosen as event processing chooses it: the
/// innermost in-app frame, or the innermost frame when none is the application's.
fn culprit(stack: &Stack) -> Option<String> {
    stack
        .frames
        .iter()
        .find(|f| f.in_app)
        .or(stack.frames.first())
        .map(|f| f.culprit())
}

#[test]
fn published_traces_name_the_frame_a_person_would_blame() {
    let traces = corpus();
    assert!(traces.len() >= 47, "only {} traces", traces.len());
    let expected_stacks = traces.iter().filter(|t| t.culprit.is_some()).count();
    let (mut recognised, mut right_format, mut right_culprit) = (0, 0, 0);
    let mut failures = Vec::new();
    for trace in &traces {
        let stack = parse(&trace.text);
        let found = stack.as_ref().and_then(culprit);
        recognised += usize::from(stack.is_some() && trace.culprit.is_some());
        if found == trace.culprit {
            right_culprit += 1;
        } else {
            failures.push(format!(
                "{}: culprit {:?}, expected {:?}",
                trace.label, found, trace.culprit
            ));
        }
        match &stack {
            Some(stack) if stack.format == trace.format => right_format += 1,
            Some(stack) => failures.push(format!(
                "{}: format {:?}, expected {:?}",
                trace.label, stack.format, trace.format
            )),
            None if trace.culprit.is_none() => right_format += 1,
            None => {}
        }
    }
    let total = traces.len();
    println!(
        "real-world traces: {recognised}/{expected_stacks} recognised, \
         {right_format}/{total} in the right format, {right_culprit}/{total} with the right culprit"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} traces read wrongly:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn corpus_traces_are_distinct() {
    let traces = corpus();
    for (i, a) in traces.iter().enumerate() {
        for b in &traces[i + 1..] {
            assert_ne!(
                a.text, b.text,
                "{} and {} are the same trace",
                a.label, b.label
            );
        }
    }
}
