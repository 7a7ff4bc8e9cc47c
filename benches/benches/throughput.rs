//! Throughput of normalization, fingerprinting and scrubbing on the corpus
//! (see `src/corpus.rs`), each next to a baseline measured in the same run,
//! then a table of both and their ratio.
//!
//! ```sh
//! cargo bench -p pg_observe_benches -- --warm-up-time 1 --measurement-time 3
//! cargo bench -p pg_observe_benches -- --test   # each benchmark once, no table
//! ```
//!
//! One iteration processes the whole corpus, so that the mix of shapes, not
//! one message, is measured; items/s and MB/s divide by the corpus size.

use std::env;
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use criterion::{BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use md5::{Digest, Md5};
use pg_observe_benches::corpus::{self, Message, StackEvent};
use pg_observe_benches::naive::normalize::NaiveNormalizer;
use pg_observe_benches::naive::scrub::NaiveScrubber;
use pg_observe_core::fingerprint::{group, GroupingInput};
use pg_observe_core::normalize::normalize_message;
use pg_observe_core::scrub::Scrubber;
use pg_observe_core::stack;
use serde_json::Value;

const SUBJECT: &str = "pg_observe";

/// What the table needs to know about one criterion group: the subject is
/// always `SUBJECT`, compared with `baseline`.
struct Bench {
    group: &'static str,
    baseline: &'static str,
    items: u64,
    bytes: u64,
}

impl Bench {
    fn start<'c>(
        &self,
        criterion: &'c mut Criterion,
    ) -> BenchmarkGroup<'c, criterion::measurement::WallTime> {
        let mut group = criterion.benchmark_group(self.group);
        group.throughput(Throughput::ElementsAndBytes {
            elements: self.items,
            bytes: self.bytes,
        });
        // An iteration is a whole corpus (milliseconds): criterion's linear
        // sampling would need minutes to reach its last sample.
        group.sampling_mode(SamplingMode::Flat);
        group
    }
}

fn total_len<'a>(texts: impl Iterator<Item = &'a str>) -> u64 {
    texts.map(|t| t.len() as u64).sum()
}

fn normalize(criterion: &mut Criterion, messages: &[Message]) -> Bench {
    let bench = Bench {
        group: "normalize",
        baseline: "naive_regex_chain",
        items: messages.len() as u64,
        bytes: total_len(messages.iter().map(|m| m.message.as_str())),
    };
    let naive = NaiveNormalizer::new();
    let mut group = bench.start(criterion);
    group.bench_function(SUBJECT, |b| {
        b.iter(|| {
            for m in messages {
                black_box(normalize_message(black_box(&m.message)));
            }
        })
    });
    group.bench_function(bench.baseline, |b| {
        b.iter(|| {
            for m in messages {
                black_box(naive.normalize(black_box(&m.message)));
            }
        })
    });
    group.finish();
    bench
}

/// Events without a stack group by type and normalized message.
fn fingerprint_messages(criterion: &mut Criterion, messages: &[Message]) -> Bench {
    let bench = Bench {
        group: "fingerprint_message",
        baseline: "md5_raw_message",
        items: messages.len() as u64,
        bytes: total_len(messages.iter().map(|m| m.message.as_str())),
    };
    let mut group = bench.start(criterion);
    group.bench_function(SUBJECT, |b| {
        b.iter(|| {
            for m in messages {
                black_box(group_event(&m.message, m.exception_type.as_deref(), None));
            }
        })
    });
    group.bench_function(bench.baseline, |b| {
        b.iter(|| {
            for m in messages {
                black_box(Md5::digest(black_box(m.message.as_bytes())));
            }
        })
    });
    group.finish();
    bench
}

/// Events with a stack: parse it, then group by its frames, as capture does.
/// The baseline hashes the same bytes, message and stack, once.
fn fingerprint_stacks(criterion: &mut Criterion, stacks: &[StackEvent]) -> Bench {
    let bench = Bench {
        group: "fingerprint_stack",
        baseline: "md5_raw_message_and_stack",
        items: stacks.len() as u64,
        bytes: total_len(
            stacks
                .iter()
                .flat_map(|s| [s.message.as_str(), s.stack.as_str()]),
        ),
    };
    let mut group = bench.start(criterion);
    group.bench_function(SUBJECT, |b| {
        b.iter(|| {
            for s in stacks {
                black_box(group_event(&s.message, None, Some(black_box(&s.stack))));
            }
        })
    });
    group.bench_function(bench.baseline, |b| {
        b.iter(|| {
            for s in stacks {
                let mut md5 = Md5::new();
                md5.update(black_box(s.message.as_bytes()));
                md5.update(black_box(s.stack.as_bytes()));
                black_box(md5.finalize());
            }
        })
    });
    group.finish();
    bench
}

fn group_event(message: &str, exception_type: Option<&str>, stack_text: Option<&str>) -> String {
    let parsed = stack_text.and_then(stack::parse);
    let exception_type =
        exception_type.or_else(|| parsed.as_ref().and_then(|s| s.exception_type.as_deref()));
    group(GroupingInput {
        message,
        exception_type,
        stack: parsed.as_ref(),
        fingerprint: None,
    })
    .hashes
    .swap_remove(0)
}

fn scrub_text(criterion: &mut Criterion, messages: &[Message]) -> Bench {
    let bench = Bench {
        group: "scrub_text",
        baseline: "naive_regex_chain",
        items: messages.len() as u64,
        bytes: total_len(messages.iter().map(|m| m.message.as_str())),
    };
    let (scrubber, naive) = (Scrubber::default(), NaiveScrubber::new());
    let mut group = bench.start(criterion);
    group.bench_function(SUBJECT, |b| {
        b.iter(|| {
            for m in messages {
                black_box(scrubber.scrub_text(black_box(&m.message)));
            }
        })
    });
    group.bench_function(bench.baseline, |b| {
        b.iter(|| {
            for m in messages {
                black_box(naive.scrub_text(black_box(&m.message)));
            }
        })
    });
    group.finish();
    bench
}

/// Scrubbing rewrites the values in place, so every iteration gets a fresh
/// copy, made (and dropped) outside the timing.
fn scrub_json(criterion: &mut Criterion, contexts: &[Value]) -> Bench {
    let bench = Bench {
        group: "scrub_json",
        baseline: "naive_regex_chain",
        items: contexts.len() as u64,
        bytes: contexts.iter().map(|c| c.to_string().len() as u64).sum(),
    };
    let (scrubber, naive) = (Scrubber::default(), NaiveScrubber::new());
    let mut group = bench.start(criterion);
    group.bench_function(SUBJECT, |b| {
        b.iter_batched(
            || contexts.to_vec(),
            |mut contexts| {
                for context in &mut contexts {
                    black_box(scrubber.scrub_json(context));
                }
                contexts
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function(bench.baseline, |b| {
        b.iter_batched(
            || contexts.to_vec(),
            |mut contexts| {
                for context in &mut contexts {
                    naive.scrub_json(context);
                }
                contexts
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
    bench
}

fn main() {
    let messages = corpus::messages();
    let contexts = corpus::contexts();
    let stacks = corpus::stacks();
    let started = SystemTime::now();
    let mut criterion = Criterion::default().configure_from_args();
    let benches = [
        normalize(&mut criterion, &messages),
        fingerprint_messages(&mut criterion, &messages),
        fingerprint_stacks(&mut criterion, &stacks),
        scrub_text(&mut criterion, &messages),
        scrub_json(&mut criterion, &contexts),
    ];
    criterion.final_summary();
    print_table(&benches, started);
}

/// Where criterion writes its results, found the way criterion finds it.
fn criterion_dir() -> PathBuf {
    if let Some(home) = env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let output = Command::new(env::var_os("CARGO")?)
                .args(["metadata", "--format-version", "1", "--no-deps"])
                .output()
                .ok()?;
            let metadata: Value = serde_json::from_slice(&output.stdout).ok()?;
            metadata["target_directory"].as_str().map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("criterion")
}

/// Mean time of one iteration in ns, if this run measured it: in `--test`
/// and `--list` mode, or when a filter skipped the benchmark, criterion
/// writes nothing and an older run's file must not pass for this one's.
fn mean_ns(dir: &Path, group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let path = dir.join(group).join(id).join("new/estimates.json");
    let modified = fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified < since {
        return None;
    }
    let estimates: Value = serde_json::from_str(&fs::read_to_string(&path).ok()?).ok()?;
    estimates["mean"]["point_estimate"].as_f64()
}

fn print_table(benches: &[Bench], since: SystemTime) {
    let dir = criterion_dir();
    let rows: Vec<(&Bench, Option<f64>, Option<f64>)> = benches
        .iter()
        .map(|b| {
            (
                b,
                mean_ns(&dir, b.group, SUBJECT, since),
                mean_ns(&dir, b.group, b.baseline, since),
            )
        })
        .collect();
    if rows
        .iter()
        .all(|(_, subject, baseline)| subject.is_none() && baseline.is_none())
    {
        println!(
            "No estimates written by this run (test or list mode, or filtered out): no table."
        );
        return;
    }
    println!();
    println!("Mean per item over the corpus; MB = 10^6 bytes; ratio = baseline time / {SUBJECT} time (> 1: {SUBJECT} is faster).");
    println!(
        "{:<42} {:>11} {:>13} {:>9}  {:<27} {:>8}",
        "benchmark", "ns/item", "items/s", "MB/s", "baseline", "ratio"
    );
    let line = |bench: &Bench, id: &str, ns: f64, baseline: &str, ratio: &str| {
        let seconds = ns * 1e-9;
        println!(
            "{:<42} {:>11.1} {:>13.0} {:>9.1}  {:<27} {:>8}",
            format!("{}/{id}", bench.group),
            ns / bench.items as f64,
            bench.items as f64 / seconds,
            bench.bytes as f64 / seconds / 1e6,
            baseline,
            ratio
        );
    };
    for (bench, subject, baseline) in rows {
        if let Some(ns) = subject {
            let ratio = baseline.map_or("-".to_owned(), |base| format!("{:.2}", base / ns));
            line(bench, SUBJECT, ns, bench.baseline, &ratio);
        }
        if let Some(ns) = baseline {
            line(bench, bench.baseline, ns, "-", "1.00");
        }
    }
}
