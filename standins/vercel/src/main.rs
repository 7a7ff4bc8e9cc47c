//! `vercel-standin --token T --project P [--team TEAM] [--port 0]
//! [--rate-limit 100] [--rate-window 60]`: prints `listening on http://127.0.0.1:PORT` and
//! serves until killed (see the library for what it speaks).

use vercel_standin::{start, Options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(token), Some(project)) = (arg("--token"), arg("--project")) else {
        eprintln!("usage: vercel-standin --token T --project P [--team TEAM] [--port 0] [--rate-limit 100] [--rate-window 60]");
        std::process::exit(64);
    };
    let opts = Options {
        token,
        project,
        team: arg("--team"),
        port: arg("--port").and_then(|p| p.parse().ok()).unwrap_or(0),
        rate_limit: arg("--rate-limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(100),
        rate_window_seconds: arg("--rate-window")
            .and_then(|l| l.parse().ok())
            .unwrap_or(60),
    };
    match start(opts) {
        Ok(origin) => println!("listening on {origin}"),
        Err(e) => {
            eprintln!("vercel-standin: cannot listen: {e}");
            std::process::exit(69);
        }
    }
    loop {
        std::thread::park();
    }
}
