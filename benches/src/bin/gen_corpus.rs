//! Rewrites `corpus/messages.jsonl` and `corpus/contexts.jsonl` from the
//! deterministic generator in `src/generate.rs`:
//!
//! ```sh
//! cargo run -p pg_observe_benches --bin gen_corpus
//! ```

use std::fs;

use pg_observe_benches::{corpus, generate};

fn main() {
    for (path, text) in [
        (corpus::messages_path(), generate::messages()),
        (corpus::contexts_path(), generate::contexts()),
    ] {
        fs::write(&path, &text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        println!("wrote {} ({} bytes)", path.display(), text.len());
    }
}
