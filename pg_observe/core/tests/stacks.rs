//! Stack parsing against real-world traces: what each runtime printed, what we must
//! make of it, and that grouping keys survive what changes between occurrences of the
//! same bug (line numbers, deploy paths, build hashes, toolchain versions).

use std::fs;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pg_observe_core::stack::{parse, Stack, StackFormat};
use proptest::prelude::*;
use regex::Regex;

use StackFormat::{Gecko, JavaScriptCore, PlPgSql, Python, Rust, V8};

struct Case {
    fixture: &'static str,
    format: StackFormat,
    exception_type: Option<&'static str>,
    frames: usize,
    in_app: &'static [usize],
    keys: &'static [&'static str],
}

/// The same panic of the same program, printed by several toolchains in full
/// and short form: one set of grouping keys for all of them.
const MYAPP_PANIC_KEYS: &[&str] = &[
    "orders.rs|myapp::handlers::orders::Repo::nth",
    "orders.rs|myapp::handlers::orders::create::{closure}",
    "orders.rs|myapp::handlers::orders::create",
    "main.rs|myapp::main",
];

/// One row per file in `tests/fixtures/stacks/`; `every_fixture_has_a_case` keeps the
/// two in step.
const CASES: &[Case] = &[
    Case {
        fixture: "gecko_firefox_argument_lists",
        format: Gecko,
        exception_type: None,
        frames: 5,
        in_app: &[0, 1, 2, 3, 4],
        keys: &[
            "cart.js|?",
            "cart.js|?",
            "cart.js|applyCoupon",
            "cart.js|updateTotals",
            "app.js|?",
        ],
    },
    Case {
        fixture: "gecko_firefox_async_fetch",
        format: Gecko,
        exception_type: None,
        frames: 6,
        in_app: &[0, 1, 2, 3, 4, 5],
        keys: &[
            "main.js|fetchOrders",
            "main.js|loadDashboard",
            "main.js|Dashboard",
            "main.js|Dashboard",
            "main.js|init",
            "main.js|?",
        ],
    },
    Case {
        fixture: "gecko_firefox_at_sign_names",
        format: Gecko,
        exception_type: Some("TypeError"),
        frames: 5,
        in_app: &[0, 2, 3, 4],
        keys: &[
            r#"index.js|handlers["@submit"]"#,
            "index.js|dispatch",
            "index.js|bind",
            "index.js|?",
        ],
    },
    Case {
        fixture: "gecko_firefox_eval_extension",
        format: Gecko,
        exception_type: Some("ReferenceError"),
        frames: 5,
        in_app: &[0, 1, 2],
        keys: &["app.js|renderRow", "app.js|Table/rows", "app.js|Table"],
    },
    Case {
        fixture: "gecko_firefox_vite_react",
        format: Gecko,
        exception_type: Some("TypeError"),
        frames: 5,
        in_app: &[0, 4],
        keys: &["index.js|OrderTable", "index.js|OrderPage"],
    },
    Case {
        fixture: "jsc_react_native_ios_release",
        format: JavaScriptCore,
        exception_type: Some("TypeError"),
        frames: 5,
        in_app: &[0, 2, 3],
        keys: &[
            "main.jsbundle|?",
            "main.jsbundle|renderItem",
            "main.jsbundle|value",
        ],
    },
    Case {
        fixture: "jsc_safari_async_extension",
        format: JavaScriptCore,
        exception_type: None,
        frames: 6,
        in_app: &[0, 2],
        keys: &["checkout.js|submitOrder", "checkout.js|?"],
    },
    Case {
        fixture: "jsc_safari_eval_code",
        format: JavaScriptCore,
        exception_type: Some("ReferenceError"),
        frames: 5,
        in_app: &[2, 3, 4],
        keys: &[
            "runner.js|runSnippet",
            "runner.js|?",
            "runner.js|global code",
        ],
    },
    Case {
        fixture: "jsc_safari_react",
        format: JavaScriptCore,
        exception_type: Some("TypeError"),
        frames: 5,
        in_app: &[0, 1, 3, 4],
        keys: &[
            "main.js|ProfileHeader",
            "main.js|Ni",
            "main.js|Ls",
            "main.js|global code",
        ],
    },
    Case {
        fixture: "jsc_safari_unnamed_frames",
        format: JavaScriptCore,
        exception_type: Some("TypeError"),
        frames: 5,
        in_app: &[0, 2, 3],
        keys: &["main.js|?", "main.js|renderLines", "main.js|?"],
    },
    Case {
        fixture: "plpgsql_do_block_local_variable_init",
        format: PlPgSql,
        exception_type: None,
        frames: 2,
        in_app: &[0, 1],
        keys: &[
            "observe_demo.f() during statement block local variable initialization",
            "inline_code_block at PERFORM",
        ],
    },
    Case {
        fixture: "plpgsql_nested_perform_stacked_diagnostics",
        format: PlPgSql,
        exception_type: None,
        frames: 3,
        in_app: &[0, 1, 2],
        keys: &[
            "billing.charge(bigint,numeric) at RAISE",
            "api.checkout(uuid) at PERFORM",
            "api.capture(uuid) at PERFORM",
        ],
    },
    Case {
        fixture: "plpgsql_server_log_sql_function",
        format: PlPgSql,
        exception_type: None,
        frames: 2,
        in_app: &[0, 1],
        keys: &["sql_ratio", "observe_demo.wrap_sql(integer) at assignment"],
    },
    Case {
        fixture: "plpgsql_trigger_execute_psql",
        format: PlPgSql,
        exception_type: None,
        frames: 2,
        in_app: &[0, 1],
        keys: &[
            "observe_demo.audit() at RAISE",
            "observe_demo.record_event(timestamp with time zone,jsonb) at EXECUTE",
        ],
    },
    Case {
        fixture: "python_asyncio_timeout",
        format: Python,
        exception_type: Some("TimeoutError"),
        frames: 7,
        in_app: &[1, 5, 6],
        keys: &["sync.py|sync_account", "sync.py|run", "cli.py|<module>"],
    },
    Case {
        fixture: "python_chained_settings",
        format: Python,
        exception_type: Some("worker.settings.SettingsError"),
        frames: 6,
        in_app: &[0, 1, 2, 3],
        keys: &[
            "settings.py|parse_settings",
            "settings.py|load",
            "__main__.py|main",
            "__main__.py|<module>",
        ],
    },
    Case {
        fixture: "python_psycopg_unique_violation",
        format: Python,
        exception_type: Some("psycopg.errors.UniqueViolation"),
        frames: 5,
        in_app: &[1, 2, 3, 4],
        keys: &[
            "db.py|fetch",
            "users.py|create_user",
            "users.py|signup",
            "main.py|<module>",
        ],
    },
    Case {
        fixture: "rust_anyhow_main_error",
        format: Rust,
        exception_type: Some("Error"),
        frames: 33,
        in_app: &[2, 3, 4, 15],
        keys: &[
            "invoices.rs|billing::api::invoices::InvoiceStore::amount",
            "invoices.rs|billing::api::invoices::finalize::{closure}",
            "main.rs|billing::main::{closure}",
            "main.rs|billing::main",
        ],
    },
    Case {
        fixture: "rust_panic_backtrace_full",
        format: Rust,
        exception_type: Some("panic"),
        frames: 49,
        in_app: &[20, 21, 29, 30],
        keys: MYAPP_PANIC_KEYS,
    },
    Case {
        fixture: "rust_panic_backtrace_short",
        format: Rust,
        exception_type: Some("panic"),
        frames: 18,
        in_app: &[6, 7, 15, 16],
        keys: MYAPP_PANIC_KEYS,
    },
    Case {
        fixture: "rust_panic_rust175_full",
        format: Rust,
        exception_type: Some("panic"),
        frames: 49,
        in_app: &[20, 21, 29, 30],
        keys: MYAPP_PANIC_KEYS,
    },
    Case {
        fixture: "rust_panic_rust175_short",
        format: Rust,
        exception_type: Some("panic"),
        frames: 18,
        in_app: &[6, 7, 15, 16],
        keys: MYAPP_PANIC_KEYS,
    },
    Case {
        fixture: "rust_tokio_expect_panic",
        format: Rust,
        exception_type: Some("panic"),
        frames: 57,
        in_app: &[4, 5],
        keys: &[
            "invoices.rs|billing::api::invoices::settle::{closure}",
            "main.rs|billing::main::{closure}::{closure}",
        ],
    },
    Case {
        fixture: "v8_chrome_blob_worker",
        format: V8,
        exception_type: Some("TypeError"),
        frames: 2,
        in_app: &[0, 1],
        keys: &["<blob>|resizeTile", "<blob>|onmessage"],
    },
    Case {
        fixture: "v8_chrome_cra_bundle",
        format: V8,
        exception_type: Some("TypeError"),
        frames: 7,
        in_app: &[0, 1, 3, 5],
        keys: &[
            "main.js|initWidget",
            "main.js|?",
            "787.chunk.js|mount",
            "main.js|HTMLDocument.?",
        ],
    },
    Case {
        fixture: "v8_chrome_nextjs_app_router",
        format: V8,
        exception_type: Some("Error"),
        frames: 7,
        in_app: &[0, 1, 2, 3],
        keys: &[
            "page.js|fetchJson",
            "page.js|loadOrders",
            "8069.js|fetchFn",
            "8069.js|run",
        ],
    },
    Case {
        fixture: "v8_chrome_nextjs_pages_router",
        format: V8,
        exception_type: Some("TypeError"),
        frames: 7,
        in_app: &[0],
        keys: &["checkout.js|CartSummary"],
    },
    Case {
        fixture: "v8_deno_supabase_edge",
        format: V8,
        exception_type: Some("TypeError"),
        frames: 4,
        in_app: &[0, 1],
        keys: &["index.ts|getProfile", "index.ts|handler"],
    },
    Case {
        fixture: "v8_deno_uncaught_esm",
        format: V8,
        exception_type: Some("PostgrestError"),
        frames: 5,
        in_app: &[2, 3],
        keys: &["db.ts|insertProfile", "index.ts|Server.?"],
    },
    Case {
        fixture: "v8_hermes_android_release",
        format: V8,
        exception_type: Some("Error"),
        frames: 5,
        in_app: &[0, 1, 3, 4],
        keys: &[
            "index.android.bundle|submitPayment",
            "index.android.bundle|?",
            "index.android.bundle|onPress",
            "index.android.bundle|_performTransitionSideEffects",
        ],
    },
    Case {
        fixture: "v8_ie11_anonymous_function",
        format: V8,
        exception_type: Some("TypeError"),
        frames: 4,
        in_app: &[0, 2, 3],
        keys: &["cart.js|?", "cart.js|updateTotals", "app.js|Global code"],
    },
    Case {
        fixture: "v8_node20_constructor_foreach",
        format: V8,
        exception_type: Some("TypeError"),
        frames: 7,
        in_app: &[0, 1, 3],
        keys: &["app.mjs|Widget", "app.mjs|?", "app.mjs|?"],
    },
    Case {
        fixture: "v8_node20_esm_eval",
        format: V8,
        exception_type: Some("TypeError"),
        frames: 6,
        in_app: &[0, 1, 2],
        keys: &[
            "template.mjs|Template.render",
            "app.mjs|renderPage",
            "app.mjs|?",
        ],
    },
    Case {
        fixture: "v8_node20_express_rangeerror",
        format: V8,
        exception_type: Some("RangeError"),
        frames: 10,
        in_app: &[0, 1, 5],
        keys: &[
            "orders.js|validateOrder",
            "orders.js|createOrder",
            "index.js|?",
        ],
    },
    Case {
        fixture: "v8_node20_postgrest_async",
        format: V8,
        exception_type: Some("PostgrestError"),
        frames: 3,
        in_app: &[1],
        keys: &["orders.js|OrderService.insertOrder"],
    },
    Case {
        fixture: "v8_node20_uncaught_stderr",
        format: V8,
        exception_type: Some("TypeError"),
        frames: 8,
        in_app: &[0, 1],
        keys: &["config.js|loadConfig", "server.js|?"],
    },
    Case {
        fixture: "v8_react_native_android_no_space",
        format: V8,
        exception_type: Some("Error"),
        frames: 5,
        in_app: &[0, 1, 2],
        keys: &[
            "profile.js|fetchProfile",
            "profilescreen.js|loadProfile",
            "profilescreen.js|onPress",
        ],
    },
    Case {
        fixture: "v8_webpack_eval_origin",
        format: V8,
        exception_type: Some("ReferenceError"),
        frames: 5,
        in_app: &[0, 1, 2],
        keys: &[
            "layout.js|Layout",
            "layoutproxy.js|eval",
            "layoutproxy.js|Layout",
        ],
    },
];

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stacks")
        .join(format!("{name}.txt"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parsed(text: &str) -> Stack {
    parse(text).unwrap_or_else(|| panic!("not recognised as a stack:\n{text}"))
}

fn in_app_keys(stack: &Stack) -> Vec<String> {
    stack
        .frames
        .iter()
        .filter(|f| f.in_app)
        .map(|f| f.grouping_key())
        .collect()
}

fn all_keys(stack: &Stack) -> Vec<(String, bool)> {
    stack
        .frames
        .iter()
        .map(|f| (f.grouping_key(), f.in_app))
        .collect()
}

#[test]
fn fixtures_parse_as_expected() {
    for case in CASES {
        let stack = parsed(&fixture(case.fixture));
        let name = case.fixture;
        assert_eq!(stack.format, case.format, "{name}: format");
        assert_eq!(
            stack.exception_type.as_deref(),
            case.exception_type,
            "{name}: exception type"
        );
        assert_eq!(stack.frames.len(), case.frames, "{name}: frame count");
        let in_app: Vec<usize> = (0..stack.frames.len())
            .filter(|&i| stack.frames[i].in_app)
            .collect();
        assert_eq!(in_app, case.in_app, "{name}: in-app frames");
        assert_eq!(
            in_app_keys(&stack),
            case.keys,
            "{name}: in-app grouping keys"
        );
    }
}

#[test]
fn every_fixture_has_a_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stacks");
    // `real_world/` holds published traces whose files carry their own expectations
    // (tests/real_world_stacks.rs).
    let mut files: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".txt")
                .to_owned()
        })
        .collect();
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.fixture.to_owned()).collect();
    cases.sort();
    assert_eq!(files, cases);
}

#[test]
fn at_least_three_fixtures_per_format() {
    for format in [V8, Gecko, JavaScriptCore, Python, Rust, PlPgSql] {
        let count = CASES.iter().filter(|c| c.format == format).count();
        assert!(count >= 3, "{format:?} has {count} fixtures");
    }
}

#[test]
fn frames_are_innermost_first() {
    let first = |name: &str| {
        let stack = parsed(&fixture(name));
        stack.frames[0].function.clone().unwrap_or_default()
    };
    // Python prints the outermost call first; the others innermost first.
    assert_eq!(first("python_psycopg_unique_violation"), "execute");
    assert_eq!(first("v8_node20_express_rangeerror"), "validateOrder");
    assert_eq!(first("gecko_firefox_vite_react"), "OrderTable");
    assert_eq!(first("jsc_safari_react"), "ProfileHeader");
    // Safari prints code outside any named function as its bare location.
    assert_eq!(first("jsc_safari_unnamed_frames"), "");
    assert_eq!(
        first("rust_panic_backtrace_short"),
        "__rustc::rust_begin_unwind"
    );
    assert_eq!(
        first("plpgsql_nested_perform_stacked_diagnostics"),
        "billing.charge(bigint,numeric) at RAISE"
    );
}

#[test]
fn frame_fields() {
    let stack = parsed(&fixture("v8_node20_express_rangeerror"));
    let top = &stack.frames[0];
    assert_eq!(top.function.as_deref(), Some("validateOrder"));
    assert_eq!(top.filename.as_deref(), Some("/app/src/routes/orders.js"));
    assert_eq!((top.lineno, top.colno), (Some(4), Some(11)));
    assert_eq!(top.culprit(), "validateOrder (orders.js)");

    let stack = parsed(&fixture("python_psycopg_unique_violation"));
    assert_eq!(stack.frames[0].module.as_deref(), Some("psycopg.cursor"));
    assert_eq!(stack.frames[1].culprit(), "fetch (db.py)");

    let stack = parsed(&fixture("rust_panic_backtrace_full"));
    let nth = &stack.frames[20];
    assert_eq!(
        nth.function.as_deref(),
        Some("myapp::handlers::orders::Repo<T>::nth")
    );
    assert_eq!(
        nth.filename.as_deref(),
        Some("/build/myapp/src/handlers/orders.rs")
    );
    assert_eq!((nth.lineno, nth.colno), (Some(15), Some(19)));
    assert_eq!(
        nth.culprit(),
        "myapp::handlers::orders::Repo::nth (orders.rs)"
    );

    let stack = parsed(&fixture("plpgsql_nested_perform_stacked_diagnostics"));
    assert_eq!(stack.frames[0].lineno, Some(10));
    assert_eq!(
        stack.frames[0].culprit(),
        "billing.charge(bigint,numeric) at RAISE"
    );
}

/// Adds 7 to every line, column and statement number, as an unrelated edit above the
/// failing code would.
fn shift_positions(text: &str) -> String {
    let position = Regex::new(r"(:|line |statement )(\d+)").unwrap();
    position
        .replace_all(text, |c: &regex::Captures| {
            let n: u64 = c[2].parse().unwrap();
            format!("{}{}", &c[1], n + 7)
        })
        .into_owned()
}

#[test]
fn keys_ignore_line_and_column_numbers() {
    for case in CASES {
        let text = fixture(case.fixture);
        let shifted = shift_positions(&text);
        assert_ne!(text, shifted, "{}: nothing shifted", case.fixture);
        assert_eq!(
            all_keys(&parsed(&text)),
            all_keys(&parsed(&shifted)),
            "{}",
            case.fixture
        );
    }
}

#[test]
fn keys_ignore_the_deploy_path() {
    let moves = [
        ("v8_node20_express_rangeerror", "/app/", "/var/task/"),
        (
            "v8_node20_uncaught_stderr",
            "/app/",
            "/home/runner/work/api/api/",
        ),
        ("v8_node20_postgrest_async", "/var/task/", "/app/"),
        (
            "v8_node20_esm_eval",
            "file:///srv/app/",
            "file:///opt/render/project/src/",
        ),
        (
            "v8_deno_supabase_edge",
            "file:///home/deno/functions/",
            "file:///var/tmp/sb-compile-edge-runtime/functions/",
        ),
        (
            "v8_chrome_nextjs_pages_router",
            "https://shop.example.com/",
            "https://shop-git-preview.vercel.app/",
        ),
        (
            "gecko_firefox_vite_react",
            "https://app.example.com/assets/",
            "https://d111111abcdef8.cloudfront.net/v2/assets/",
        ),
        (
            "jsc_safari_react",
            "https://app.example.com/",
            "https://staging.example.com/",
        ),
        ("python_psycopg_unique_violation", "/app/", "/var/task/"),
        (
            "python_psycopg_unique_violation",
            "/usr/local/lib/python3.11/site-packages/",
            "/opt/venv/lib/python3.12/site-packages/",
        ),
        ("python_asyncio_timeout", "/var/task/", "/app/"),
        (
            "python_asyncio_timeout",
            "/root/.pyenv/versions/3.11.7/lib/python3.11/",
            "/usr/lib/python3.12/",
        ),
        (
            "rust_panic_backtrace_full",
            "/build/myapp/",
            "/home/ci/work/myapp/",
        ),
        (
            "rust_tokio_expect_panic",
            "/usr/local/cargo/",
            "/root/.cargo/",
        ),
        (
            "jsc_react_native_ios_release",
            "4F0C2A8E-1B7D-4E2A-9C3B-2D5E6F7A8B9C",
            "0D1E2F3A-4B5C-4D6E-8F7A-9B0C1D2E3F4A",
        ),
        (
            "v8_react_native_android_no_space",
            "/home/ci/app/",
            "/Users/dev/Shop/",
        ),
    ];
    for (name, from, to) in moves {
        let text = fixture(name);
        assert!(text.contains(from), "{name} does not contain {from}");
        let moved = text.replace(from, to);
        assert_eq!(
            all_keys(&parsed(&text)),
            all_keys(&parsed(&moved)),
            "{name}: {from} -> {to}"
        );
    }
}

#[test]
fn keys_ignore_build_hashes() {
    let rebuilds = [
        ("v8_chrome_cra_bundle", "4f3a2b1c", "9d8e7f6a"),
        ("v8_chrome_cra_bundle", "8e2a91b4", "0b1c2d3e"),
        (
            "v8_chrome_nextjs_pages_router",
            "4f1e2d3c5b6a7980",
            "a0b1c2d3e4f5a6b7",
        ),
        (
            "v8_chrome_nextjs_pages_router",
            "2c79e2a64abdb08b",
            "77e1f0c2d3b4a596",
        ),
        (
            "v8_chrome_nextjs_app_router",
            "9f8e7d6c5b4a3210",
            "0123456789abcdef",
        ),
        (
            "v8_chrome_nextjs_app_router",
            "3c0a3f1f8b2e1d4c",
            "c4d1e2b8f1f3a0c3",
        ),
        ("gecko_firefox_vite_react", "BfG3sH_a", "Xy7-q2Lm"),
        ("gecko_firefox_async_fetch", "4f3a2b1c", "c1b2a3f4"),
        ("jsc_safari_async_extension", "Dk3n_Q9x", "pQ8rT2vW"),
        ("jsc_safari_react", "4f3a2b1c", "5e6d7c8b"),
        // A blob URL gets a fresh UUID on every page load.
        (
            "v8_chrome_blob_worker",
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "f47ac10b-58cc-4372-a567-0e02b2c3d479",
        ),
    ];
    for (name, from, to) in rebuilds {
        let text = fixture(name);
        assert!(text.contains(from), "{name} does not contain {from}");
        let rebuilt = text.replace(from, to);
        assert_eq!(
            all_keys(&parsed(&text)),
            all_keys(&parsed(&rebuilt)),
            "{name}: {from} -> {to}"
        );
    }
    // Rust: every symbol hash, crate disambiguator and the toolchain commit change.
    let symbol_hash = Regex::new(r"::h[0-9a-f]{16}").unwrap();
    let disambiguator = Regex::new(r"\[[0-9a-f]{16}\]").unwrap();
    let toolchain = Regex::new(r"/rustc/[0-9a-f]{40}/").unwrap();
    for name in ["rust_panic_backtrace_full", "rust_panic_rust175_full"] {
        let text = fixture(name);
        let rebuilt = symbol_hash.replace_all(&text, "::h0000000000000000");
        let rebuilt = disambiguator.replace_all(&rebuilt, "[ffffffffffffffff]");
        let rebuilt =
            toolchain.replace_all(&rebuilt, "/rustc/1111111111111111111111111111111111111111/");
        assert_ne!(text, rebuilt);
        assert_eq!(
            all_keys(&parsed(&text)),
            all_keys(&parsed(&rebuilt)),
            "{name}"
        );
    }
}

#[test]
fn blob_urls_group_the_same_on_every_load() {
    let chrome = fixture("v8_chrome_blob_worker");
    let keys = in_app_keys(&parsed(&chrome));
    let firefox = "resizeTile@blob:https://maps.example.com/0f8fad5b-d9cb-469f-a165-70867728950e:1:4127\n\
                   onmessage@blob:https://maps.example.com/0f8fad5b-d9cb-469f-a165-70867728950e:1:5310";
    assert_eq!(in_app_keys(&parsed(firefox)), keys);
    let stack = parsed(&chrome);
    assert_eq!(stack.frames[0].culprit(), "resizeTile (<blob>)");
}

#[test]
fn keys_ignore_argument_values() {
    // Firefox up to version 13 printed each call's arguments after the name.
    let text = fixture("gecko_firefox_argument_lists");
    let keys = all_keys(&parsed(&text));
    let other_call = text
        .replace(r#""SPRING-10", 2"#, r#""WELCOME", 1"#)
        .replace("updateTotals(null)", "updateTotals({})");
    assert_ne!(text, other_call);
    assert_eq!(all_keys(&parsed(&other_call)), keys);
    let without_arguments = text
        .replace("()@", "@")
        .replace("(null)@", "@")
        .replace(r#"applyCoupon("SPRING-10", 2)"#, "applyCoupon")
        .replace("updateTotals(null)", "updateTotals");
    assert_eq!(all_keys(&parsed(&without_arguments)), keys);
}

#[test]
fn rust_keys_survive_backtrace_style_and_toolchain_upgrades() {
    let expected = in_app_keys(&parsed(&fixture("rust_panic_backtrace_short")));
    assert_eq!(expected.len(), 4);
    for name in [
        "rust_panic_backtrace_full",
        "rust_panic_rust175_short",
        "rust_panic_rust175_full",
    ] {
        assert_eq!(in_app_keys(&parsed(&fixture(name))), expected, "{name}");
    }
}

#[test]
fn the_final_python_traceback_is_kept() {
    let stack = parsed(&fixture("python_chained_settings"));
    assert_eq!(
        stack.exception_type.as_deref(),
        Some("worker.settings.SettingsError")
    );
    assert!(stack
        .frames
        .iter()
        .all(|f| f.function.as_deref() != Some("loads")));
}

#[test]
fn text_that_is_not_a_stack() {
    for text in [
        "",
        "\n \n\t\n",
        "Payment failed because the card was declined.",
        r#"{"error":{"code":"23505","message":"duplicate key value violates unique constraint"}}"#,
        r#"[{"at": "2024-03-11T10:00:00Z", "level": "error", "msg": "File \"x\""}]"#,
        "ERROR:  relation \"users\" does not exist\nLINE 1: select * from users\n                      ^",
        "Steps:\n1: open the app\n2: click save",
        "Contact support@example.com or call +1 555 0100.",
        "We'll meet at noon (local time) at the station.",
    ] {
        assert_eq!(parse(text), None, "{text}");
    }
}

fn keys_of(text: &str) -> Vec<String> {
    parse(text)
        .map(|s| {
            s.frames
                .iter()
                .map(|f| f.grouping_key() + &f.culprit())
                .collect()
        })
        .unwrap_or_default()
}

/// Inputs built to provoke quadratic behaviour in each parser, about `size` bytes each.
fn hostile_inputs(size: usize) -> Vec<String> {
    let fill = |unit: &str| unit.repeat(size / unit.len());
    let nested = size / 24;
    vec![
        fill("    at f (/app/a.js:1:2)\n"),
        format!("at f ({}", fill("(")),
        format!("at f {})", fill("(")),
        format!("at f ({})", fill("eval at g (")),
        format!(
            "at eval ({}/a.js:1:1{})",
            "eval at g (".repeat(nested),
            ")".repeat(nested)
        ),
        fill("at "),
        fill("@"),
        fill("a@"),
        format!("f@{}:1:1", fill("x line 1 > eval")),
        fill("promise callback*"),
        format!("   0: a::b{}", fill("<")),
        format!("   0: a::b{}", fill(">")),
        format!("   0: {}", fill("a<")),
        format!("   0: a::b{}", fill("c<d>")),
        format!("   0: a::b{}", fill("::<x>")),
        format!("   0: {}", fill("<a as b>::")),
        format!("   0: a::b{}", fill("::<impl ")),
        format!("   0: a::b{}", fill("{closure#")),
        format!("   0: a::b{}", fill("[0123456789abcdef")),
        format!("   0: a::b{}", fill("::h")),
        fill("   0: a::b\n             at ./src/a.rs:1:1\n"),
        fill("stack backtrace:\n"),
        fill("  File \""),
        fill("Traceback (most recent call last):\n  File \"/a.py\", line 1, in f\n"),
        format!("PL/pgSQL function f{}", fill("(")),
        format!("PL/pgSQL function {}", fill("\"")),
        fill("PL/pgSQL function f() line 1 at RAISE\n"),
        format!("    at f (/app/{}.js:1:2)", fill("a-")),
        format!("    at f (/app/{}.js:1:2)", fill("a.")),
        format!("    at f (https://x/{}:1:2)", fill("?#")),
        format!("    at f (/a.js{})", fill(":1")),
        fill("Object."),
        fill("\n"),
        fill("é"),
        // `@` inside brackets and quotes, and `@`s that each continue a name.
        format!("{}@https://x/a.js:1:1", fill("[")),
        format!("[{}]@https://x/a.js:1:1", fill("\"@")),
        fill("@a"),
        fill("(null)@"),
        format!("f{}@https://x/a.js:1:1", fill("()")),
        format!("f({}@https://x/a.js:1:1", fill("\"")),
        // Unnamed JavaScriptCore frames: one long location.
        format!("{}:1:1", fill("a/")),
        format!("{}:1:1", fill("x.")),
        fill("https://x/a.js:1:1"),
        // V8 calls without a space, extension schemes, Hermes addresses, eval origins.
        format!("at f{})", fill("(")),
        format!("at {}(//x/a.js:1:2)", fill("a@b:")),
        fill("at f (address at "),
        format!("at f (eval at g ({}), <anonymous>:1:1)", fill("x")),
        // File names: blob URLs and UUID-like runs of dashed hex.
        format!("    at f (blob:https://x/{}:1:2)", fill("a-")),
        format!("    at f (/app/{}.js:1:2)", fill("abcdef01-1234-")),
    ]
}

/// One line of the text the parsers find hardest, at the 64 KiB that a stack may be.
#[test]
fn long_adversarial_lines_parse_quickly() {
    let _alone = cpu_heavy();
    const SIZE: usize = 64 * 1024;
    for unit in ["@", "(", "[", "\"", "a@", "@(", "at f(", "x:1"] {
        let line = unit.repeat(SIZE / unit.len());
        let start = Instant::now();
        std::hint::black_box(keys_of(&line));
        let took = start.elapsed();
        assert!(
            took < Duration::from_millis(500),
            "64 KiB of {unit:?}: {took:?}"
        );
    }
}

fn elapsed(text: &str, times: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..times {
        std::hint::black_box(keys_of(text));
    }
    start.elapsed()
}

/// Held by the timing test and by the tests that keep a core busy, so that the timing
/// test measures the parser rather than its neighbours.
static CPU_HEAVY: Mutex<()> = Mutex::new(());

fn cpu_heavy() -> MutexGuard<'static, ()> {
    CPU_HEAVY.lock().unwrap_or_else(PoisonError::into_inner)
}

#[test]
fn parsing_is_linear_on_hostile_input() {
    let _alone = cpu_heavy();
    const SMALL: usize = 2 * 1024;
    const LARGE: usize = 64 * 1024;
    let repeats = LARGE / SMALL;
    let small = hostile_inputs(SMALL);
    let large = hostile_inputs(LARGE);
    for (small, large) in small.iter().zip(&large) {
        // The small input parsed `repeats` times is the same amount of text as the large
        // one parsed once: linear work takes about as long, quadratic `repeats` times
        // longer. Equal work also means equal exposure to other tests competing for the
        // cores, and the fastest of alternating rounds compares them under the same load.
        let (mut many_small, mut one_large) = (Duration::MAX, Duration::MAX);
        for _ in 0..5 {
            many_small = many_small.min(elapsed(small, repeats));
            one_large = one_large.min(elapsed(large, 1));
        }
        let label: String = large.chars().take(40).collect();
        // Generous for an unoptimised build, far below what quadratic work on 64 KiB takes.
        assert!(
            one_large < Duration::from_millis(500),
            "{label:?}: {one_large:?}"
        );
        assert!(
            one_large <= many_small * 3 + Duration::from_millis(1),
            "{label:?}: {many_small:?} for {repeats} x 2 KiB, {one_large:?} for 64 KiB"
        );
    }
}

fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "at ",
        "async ",
        "new ",
        "(",
        ")",
        "@",
        ":",
        "1",
        "42",
        "0x1f",
        " - ",
        "::",
        "<",
        ">",
        "{{closure}}",
        "{closure#",
        "[",
        "]",
        "::h0123456789abcdef",
        "eval at ",
        "<anonymous>",
        ", ",
        "File \"",
        "\", line ",
        ", in ",
        "Traceback (most recent call last):",
        "PL/pgSQL function ",
        " line ",
        " at RAISE",
        "SQL function \"",
        "\" statement ",
        "[native code]",
        "global code",
        "stack backtrace:",
        "thread 'main' panicked at ",
        "/app/",
        "node_modules/",
        "https://x/",
        ".js",
        ".py",
        ".rs",
        "main.4f3a2b1c",
        "-",
        " > eval",
        "*",
        "/<",
        "?",
        "#",
        "\n",
        "\n    ",
        "\t",
        " ",
        "é",
        "TypeError: ",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(chars in prop::collection::vec(any::<char>(), 0..64 * 1024)) {
        let _heavy = cpu_heavy();
        let text: String = chars.into_iter().collect();
        keys_of(&text);
    }

    #[test]
    fn parse_never_panics_on_stack_shaped_garbage(fragments in prop::collection::vec(fragment(), 0..8 * 1024)) {
        let _heavy = cpu_heavy();
        keys_of(&fragments.concat());
    }
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z_]{0,11}"
}

fn lower() -> impl Strategy<Value = String> {
    "[a-z][a-z_]{0,9}"
}

#[derive(Debug, Clone)]
struct Call {
    function: String,
    directory: String,
    file: String,
    line: u32,
    column: u32,
}

fn call() -> impl Strategy<Value = Call> {
    (name(), lower(), lower(), any::<u32>(), any::<u32>()).prop_map(
        |(function, directory, file, line, column)| Call {
            function,
            directory,
            file,
            line,
            column,
        },
    )
}

/// The same calls, printed the way one of the runtimes would.
fn render(format: usize, calls: &[Call]) -> String {
    let mut out = String::new();
    for (i, c) in calls.iter().enumerate() {
        let Call {
            function: f,
            directory: d,
            file: n,
            line: l,
            column: k,
        } = c;
        out.push_str(&match format {
            0 => format!("    at {f} (/srv/{d}/{n}.js:{l}:{k})\n"),
            1 => format!("    at async Object.{f} [as x] (eval at g (file:///{d}/{n}.mjs:{l}:{k}), <anonymous>:{k}:{l})\n"),
            2 => format!("{f}/<@https://cdn.example.com/{d}/{n}.js:{l}:{k}\n"),
            3 => format!("promise callback*{f}@https://x.example.com/{d}/{n}.js line {l} > eval:{k}:{l}\n"),
            4 => format!("{f}@https://x.example.com/{d}/{n}.js:{l}:{k}\nforEach@[native code]\n"),
            5 => format!("  File \"/srv/{d}/{n}.py\", line {l}, in {f}\n    {f}()\n"),
            6 => format!("  File \"/usr/lib/python3.11/site-packages/{d}/{n}.py\", line {l}, in {f}\n"),
            7 => format!("  {i}: {d}::{n}::{f}<T>::{{{{closure}}}}::h0123456789abcdef\n             at ./src/{n}.rs:{l}:{k}\n"),
            8 => format!("  {i}:     0x55d4b3bf0f35 - <{d}::{f} as core::fmt::Display>::fmt\n                               at /home/{d}/src/{n}.rs:{l}:{k}\n"),
            9 => format!("PL/pgSQL function {d}.{f}(text,bigint) line {l} at RAISE\nSQL statement \"SELECT {d}.{f}({k})\"\n"),
            _ => format!("SQL function \"{f}\" statement {l}\n"),
        });
    }
    match format {
        5 | 6 => format!(
            "Traceback (most recent call last):\n{out}ValueError: {}\n",
            calls[0].line
        ),
        7 | 8 => format!(
            "thread 'main' panicked at src/main.rs:{}:5:\nstack backtrace:\n{out}",
            calls[0].line
        ),
        _ => out,
    }
}

proptest! {
    #[test]
    fn keys_never_contain_position_digits(format in 0usize..11, calls in prop::collection::vec(call(), 1..20)) {
        let _heavy = cpu_heavy();
        let text = render(format, &calls);
        let stack = parse(&text).expect("a rendered stack is recognised");
        prop_assert_eq!(stack.frames.iter().filter(|f| f.lineno.is_some()).count() >= 1, true);
        for frame in &stack.frames {
            let key = frame.grouping_key();
            prop_assert!(!key.contains(|c: char| c.is_ascii_digit()), "{} in {}", key, text);
        }
    }
}
