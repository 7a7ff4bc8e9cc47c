//! The generator of the checked-in corpus (`corpus/messages.jsonl` and
//! `corpus/contexts.jsonl`; run `cargo run -p pg_observe_benches --bin
//! gen_corpus` to rewrite them).
//!
//! Every template is the shape of an error that real runtimes and services
//! print: PostgreSQL's SQLERRM (with DETAIL lines), Node, Deno and browser
//! errors, Python exceptions, Go and HTTP client errors, Supabase Auth,
//! Storage and PostgREST errors. Its variable parts (ids, uuids, e-mails,
//! hosts, IPs, timestamps, durations, secrets) are drawn from a fixed-seed
//! generator, so two runs write the same bytes and a benchmark measures the
//! same work on every machine. Templates are used in turn rather than at
//! random, so each shape weighs the same in the corpus.

use serde_json::{json, Value};

const SEED: u64 = 0x5eed_0f0b_5e7e;
pub const MESSAGE_COUNT: usize = 2000;
pub const CONTEXT_COUNT: usize = 300;

/// SplitMix64: a few lines, no dependency, and stable across platforms and
/// Rust versions (unlike the standard library's hashers).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }

    fn chars(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.next() as usize % alphabet.len()]))
            .collect()
    }

    fn hex(&mut self, len: usize) -> String {
        self.chars(b"0123456789abcdef", len)
    }

    fn alnum(&mut self, len: usize) -> String {
        self.chars(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            len,
        )
    }

    fn base64url(&mut self, len: usize) -> String {
        self.chars(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            len,
        )
    }

    fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-{}{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.pick(&["8", "9", "a", "b"]),
            self.hex(3),
            self.hex(12)
        )
    }

    fn email(&mut self) -> String {
        let first = self.pick(&[
            "jane", "john", "maria", "wei", "ahmed", "olga", "li", "sam", "priya", "lucas",
        ]);
        let last = self.pick(&[
            "doe", "smith", "garcia", "chen", "khan", "ivanova", "nguyen", "patel", "silva",
        ]);
        let domain = self.pick(&[
            "gmail.com",
            "example.com",
            "acme.io",
            "mail.example.org",
            "outlook.com",
            "company.co.uk",
        ]);
        match self.int(0, 3) {
            0 => format!("{first}.{last}@{domain}"),
            1 => format!("{first}{}@{domain}", self.int(1, 999)),
            2 => format!("{first}+{}@{domain}", self.pick(&["test", "shop", "dev"])),
            _ => format!("{first}_{last}@{domain}"),
        }
    }

    fn ipv4(&mut self) -> String {
        match self.int(0, 2) {
            0 => format!(
                "10.{}.{}.{}",
                self.int(0, 255),
                self.int(0, 255),
                self.int(1, 254)
            ),
            1 => format!(
                "172.{}.{}.{}",
                self.int(16, 31),
                self.int(0, 255),
                self.int(1, 254)
            ),
            _ => format!(
                "{}.{}.{}.{}",
                self.int(3, 223),
                self.int(0, 255),
                self.int(0, 255),
                self.int(1, 254)
            ),
        }
    }

    fn ipv6(&mut self) -> String {
        format!(
            "2a05:d018:{}:{}::{}",
            self.hex(3),
            self.hex(4).trim_start_matches('0'),
            self.int(1, 0xfff)
        )
    }

    fn project_ref(&mut self) -> String {
        self.chars(b"abcdefghijklmnopqrstuvwxyz", 20)
    }

    fn host(&mut self) -> String {
        match self.int(0, 4) {
            0 => format!("db.{}.supabase.co", self.project_ref()),
            1 => format!(
                "aws-0-{}.pooler.supabase.com",
                self.pick(&["eu-central-1", "us-east-1", "ap-southeast-1"])
            ),
            2 => format!(
                "api.{}.com",
                self.pick(&["stripe", "github", "openai", "resend"])
            ),
            3 => format!(
                "{}.{}.io",
                self.pick(&["hooks", "cdn", "auth", "ws"]),
                self.pick(&["acme", "getpaid", "shopcart"])
            ),
            _ => format!(
                "ip-10-0-{}-{}.ec2.internal",
                self.int(0, 255),
                self.int(1, 254)
            ),
        }
    }

    fn url(&mut self) -> String {
        match self.int(0, 3) {
            0 => format!(
                "https://{}.supabase.co/rest/v1/{}?id=eq.{}&select=*",
                self.project_ref(),
                self.table(),
                self.int(1, 999_999)
            ),
            1 => format!("https://api.stripe.com/v1/customers/cus_{}", self.alnum(14)),
            2 => format!(
                "https://app.acme.io/api/orders/{}/items?page={}",
                self.uuid(),
                self.int(1, 40)
            ),
            _ => format!(
                "https://{}.supabase.co/functions/v1/{}",
                self.project_ref(),
                self.pick(&[
                    "send-email",
                    "stripe-webhook",
                    "resize-image",
                    "daily-digest"
                ])
            ),
        }
    }

    fn table(&mut self) -> &'static str {
        self.pick(&[
            "orders",
            "users",
            "profiles",
            "invoices",
            "subscriptions",
            "documents",
            "team_members",
            "payments",
            "messages",
            "audit_log",
        ])
    }

    fn column(&mut self) -> &'static str {
        self.pick(&[
            "email",
            "user_id",
            "org_id",
            "slug",
            "status",
            "created_at",
            "amount",
            "external_id",
        ])
    }

    fn iso(&mut self) -> String {
        format!(
            "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.int(1, 12),
            self.int(1, 28),
            self.int(0, 23),
            self.int(0, 59),
            self.int(0, 59),
            self.int(0, 999)
        )
    }

    fn pg_timestamp(&mut self) -> String {
        format!(
            "2024-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
            self.int(1, 12),
            self.int(1, 28),
            self.int(0, 23),
            self.int(0, 59),
            self.int(0, 59),
            self.int(0, 999_999)
        )
    }

    fn http_date(&mut self) -> String {
        format!(
            "{}, {:02} {} 2024 {:02}:{:02}:{:02} GMT",
            self.pick(&["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
            self.int(1, 28),
            self.pick(&["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct"]),
            self.int(0, 23),
            self.int(0, 59),
            self.int(0, 59)
        )
    }

    fn jwt(&mut self) -> String {
        let claims = self.int(90, 180) as usize;
        format!(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{}.{}",
            self.base64url(claims),
            self.base64url(43)
        )
    }

    fn password(&mut self) -> String {
        format!(
            "{}{}{}",
            self.pick(&["Sup3r", "hunter", "P@ss", "qwerty", "Winter"]),
            self.int(1, 9999),
            self.pick(&["!", "#", "", "x"])
        )
    }

    /// A Luhn-valid number in a real issuer range, grouped as printed or not.
    fn card(&mut self) -> String {
        let prefix = self.pick(&["4", "51", "55", "2221", "6011", "3528"]);
        let mut digits: Vec<u32> = prefix.bytes().map(|b| u32::from(b - b'0')).collect();
        while digits.len() < 15 {
            digits.push(self.int(0, 9) as u32);
        }
        // Reversed, the payload's first digit sits next to the check digit
        // and is the first one doubled.
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| match (i % 2 == 0, d * 2) {
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
                (false, _) => d,
            })
            .sum();
        digits.push((10 - sum % 10) % 10);
        let number: String = digits
            .iter()
            .map(|d| char::from_digit(*d, 10).unwrap())
            .collect();
        match self.int(0, 2) {
            0 => number,
            sep => number
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(if sep == 1 { " " } else { "-" }),
        }
    }
}

type Template = fn(&mut Rng) -> (Option<&'static str>, String);

/// Each returns (exception type or SQLSTATE as the capturing client would
/// report it, message).
const MESSAGE_TEMPLATES: &[Template] = &[
    // PostgreSQL SQLERRM, with the DETAIL that clients append.
    |r| {
        let (t, c) = (r.table(), r.column());
        let v = match c {
            "email" => r.email(),
            "user_id" | "org_id" => r.uuid(),
            _ => format!(
                "{}-{}",
                r.pick(&["my-post", "acme", "draft"]),
                r.int(1, 500)
            ),
        };
        (Some("23505"), format!("duplicate key value violates unique constraint \"{t}_{c}_key\"\nDETAIL:  Key ({c})=({v}) already exists."))
    },
    |r| {
        let t = r.table();
        let u = r.uuid();
        (Some("23503"), format!("insert or update on table \"{t}\" violates foreign key constraint \"{t}_user_id_fkey\"\nDETAIL:  Key (user_id)=({u}) is not present in table \"users\"."))
    },
    |r| {
        let (t, c, id, ts) = (r.table(), r.column(), r.int(1, 99_999), r.pg_timestamp());
        (Some("23502"), format!("null value in column \"{c}\" of relation \"{t}\" violates not-null constraint\nDETAIL:  Failing row contains ({id}, null, {ts}, pending, null)."))
    },
    |r| {
        let bad = match r.int(0, 2) {
            0 => r.int(1, 99_999).to_string(),
            1 => "undefined".to_owned(),
            _ => r.hex(24),
        };
        (
            Some("22P02"),
            format!("invalid input syntax for type uuid: \"{bad}\""),
        )
    },
    |r| {
        let v = r.pick(&["abc", "null", "NaN", "12px", ""]);
        (
            Some("22P02"),
            format!("invalid input syntax for type integer: \"{v}\""),
        )
    },
    |r| {
        (
            Some("42P01"),
            format!("relation \"public.{}\" does not exist", r.table()),
        )
    },
    |r| {
        (
            Some("42703"),
            format!(
                "column \"{}\" of relation \"{}\" does not exist",
                r.column(),
                r.table()
            ),
        )
    },
    |r| {
        let f = r.pick(&[
            "get_stats",
            "increment_counter",
            "search_documents",
            "handle_new_user",
        ]);
        (Some("42883"), format!("function public.{f}(integer, text) does not exist\nHINT:  No function matches the given name and argument types. You might need to add explicit type casts."))
    },
    |_| {
        (
            Some("57014"),
            "canceling statement due to statement timeout".to_owned(),
        )
    },
    |r| {
        let (p1, p2, x1, x2) = (
            r.int(100, 65_000),
            r.int(100, 65_000),
            r.int(1_000, 9_999_999),
            r.int(1_000, 9_999_999),
        );
        (Some("40P01"), format!("deadlock detected\nDETAIL:  Process {p1} waits for ShareLock on transaction {x1}; blocked by process {p2}.\nProcess {p2} waits for ShareLock on transaction {x2}; blocked by process {p1}.\nHINT:  See server log for query details."))
    },
    |r| {
        (
            Some("42501"),
            format!("permission denied for table {}", r.table()),
        )
    },
    |r| {
        (
            Some("42501"),
            format!(
                "new row violates row-level security policy for table \"{}\"",
                r.table()
            ),
        )
    },
    |_| {
        (
            Some("53300"),
            "remaining connection slots are reserved for non-replication superuser connections"
                .to_owned(),
        )
    },
    |r| {
        let (h, ip) = (r.host(), r.ipv4());
        (Some("08006"), format!("connection to server at \"{h}\" ({ip}), port 5432 failed: FATAL:  password authentication failed for user \"postgres\""))
    },
    |r| {
        let (t, amount, id) = (
            r.table(),
            r.int(1, 100_000) as i64 - 50_000,
            r.int(1, 99_999),
        );
        (Some("23514"), format!("new row for relation \"{t}\" violates check constraint \"{t}_amount_check\"\nDETAIL:  Failing row contains ({id}, {amount}.{:02}, usd, 2024-03-0{} 12:00:00+00).", r.int(0, 99), r.int(1, 9)))
    },
    |r| {
        (
            Some("22001"),
            format!(
                "value too long for type character varying({})",
                r.pick(&["32", "64", "255", "1024"])
            ),
        )
    },
    |_| {
        (
            Some("40001"),
            "could not serialize access due to concurrent update".to_owned(),
        )
    },
    |r| {
        (
            Some("55P03"),
            format!("could not obtain lock on row in relation \"{}\"", r.table()),
        )
    },
    |r| {
        let (acct, want, have) = (r.uuid(), r.int(1, 99_999), r.int(0, 999));
        (Some("P0001"), format!("insufficient balance for account {acct}: requested {want}.{:02}, available {have}.{:02}", r.int(0, 99), r.int(0, 99)))
    },
    |r| {
        (
            Some("22008"),
            format!(
                "date/time field value out of range: \"2024-{}-{}\"",
                r.int(13, 19),
                r.int(30, 39)
            ),
        )
    },
    |_| {
        (
            Some("25P02"),
            "current transaction is aborted, commands ignored until end of transaction block"
                .to_owned(),
        )
    },
    |r| {
        (Some("53100"), format!("could not extend file \"base/{}/{}\": No space left on device\nHINT:  Check free disk space.", r.int(16_384, 99_999), r.int(1_000, 99_999)))
    },
    |_| {
        (
            Some("57P01"),
            "terminating connection due to administrator command".to_owned(),
        )
    },
    |r| {
        (
            Some("22023"),
            format!(
                "invalid value for parameter \"TimeZone\": \"{}\"",
                r.pick(&["Mars/Olympus", "EST5EDT6", "UTC+25", "Europe/Parisx"])
            ),
        )
    },
    // Node, Deno and browsers.
    |r| {
        (
            Some("TypeError"),
            format!(
                "Cannot read properties of undefined (reading '{}')",
                r.pick(&["map", "id", "length", "data", "user", "then"])
            ),
        )
    },
    |r| {
        (
            Some("TypeError"),
            format!(
                "{}.{} is not a function",
                r.pick(&["supabase.auth", "items", "res", "client"]),
                r.pick(&["getUser", "flatMap", "json", "from"])
            ),
        )
    },
    |r| {
        (
            Some("Error"),
            format!(
                "connect ECONNREFUSED {}:{}",
                r.ipv4(),
                r.pick(&["5432", "6543", "6379", "443"])
            ),
        )
    },
    |r| (Some("Error"), format!("getaddrinfo ENOTFOUND {}", r.host())),
    |r| {
        (
            Some("FetchError"),
            format!("request to {} failed, reason: socket hang up", r.url()),
        )
    },
    |r| {
        (
            Some("AxiosError"),
            format!(
                "timeout of {}ms exceeded",
                r.pick(&["5000", "10000", "30000", "60000"])
            ),
        )
    },
    |r| {
        (
            Some("AxiosError"),
            format!(
                "Request failed with status code {}",
                r.pick(&["400", "401", "403", "404", "422", "500", "502", "503"])
            ),
        )
    },
    |r| (Some("Error"), format!("connect ETIMEDOUT {}:443", r.ipv4())),
    |_| {
        (
            Some("RangeError"),
            "Maximum call stack size exceeded".to_owned(),
        )
    },
    |_| {
        (
            Some("SyntaxError"),
            "Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON".to_owned(),
        )
    },
    |r| {
        (
            Some("SyntaxError"),
            format!(
                "Unexpected token }} in JSON at position {}",
                r.int(0, 20_000)
            ),
        )
    },
    |r| {
        let n = r.pick(&["418", "423", "425", "310", "185"]);
        (Some("Error"), format!("Minified React error #{n}; visit https://reactjs.org/docs/error-decoder.html?invariant={n} for the full message or use the non-minified dev environment for full errors and additional helpful warnings."))
    },
    |r| {
        let n = r.int(100, 9_999);
        (Some("ChunkLoadError"), format!("Loading chunk {n} failed.\n(error: https://app.acme.io/_next/static/chunks/{n}.{}.js)", r.hex(16)))
    },
    |r| {
        (
            Some("TimeoutError"),
            format!(
                "Navigation timeout of {} ms exceeded",
                r.pick(&["30000", "60000", "15000"])
            ),
        )
    },
    |_| (Some("TypeError"), "Failed to fetch".to_owned()),
    |r| {
        (
            Some("PermissionDenied"),
            format!(
                "Requires net access to \"{}:443\", run again with the --allow-net flag",
                r.host()
            ),
        )
    },
    |_| {
        (
            None,
            "ResizeObserver loop completed with undelivered notifications.".to_owned(),
        )
    },
    |r| {
        (
            Some("AbortError"),
            format!(
                "The operation was aborted due to timeout after {}ms",
                r.int(1, 60) * 1000
            ),
        )
    },
    |r| {
        let d = format!(
            "{} {} {:02} 2024 {:02}:{:02}:{:02} GMT+0{}00 (Central European Standard Time)",
            r.pick(&["Mon", "Tue", "Wed"]),
            r.pick(&["Jan", "Feb", "Mar"]),
            r.int(1, 28),
            r.int(0, 23),
            r.int(0, 59),
            r.int(0, 59),
            r.int(1, 2)
        );
        (Some("RangeError"), format!("Invalid time value: {d}"))
    },
    |r| {
        (
            Some("Error"),
            format!("User {} not found in tenant {}", r.email(), r.uuid()),
        )
    },
    |_| {
        (
            Some("TypeError"),
            "Assignment to constant variable.".to_owned(),
        )
    },
    |r| {
        (
            Some("Error"),
            format!(
                "ENOENT: no such file or directory, open '/app/uploads/{}.png'",
                r.uuid()
            ),
        )
    },
    |_| {
        (
            Some("Error"),
            "EACCES: permission denied, mkdir '/var/task/.cache'".to_owned(),
        )
    },
    // Python.
    |r| {
        (
            Some("KeyError"),
            format!("'{}'", r.pick(&["user_id", "email", "data", "STRIPE_KEY"])),
        )
    },
    |r| {
        (
            Some("ValueError"),
            format!(
                "invalid literal for int() with base 10: '{}'",
                r.pick(&["abc", "12.5", "", "None"])
            ),
        )
    },
    |r| {
        (
            Some("AttributeError"),
            format!(
                "'NoneType' object has no attribute '{}'",
                r.pick(&["id", "get", "strip", "user"])
            ),
        )
    },
    |r| {
        (
            Some("psycopg2.OperationalError"),
            format!(
                "connection to server at \"{}\" ({}), port 6543 failed: timeout expired",
                r.host(),
                r.ipv4()
            ),
        )
    },
    |r| {
        let (h, p, a) = (r.host(), r.int(1, 99_999), r.hex(12));
        (Some("requests.exceptions.ConnectionError"), format!("HTTPSConnectionPool(host='{h}', port=443): Max retries exceeded with url: /v1/items?id={p} (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f{a}>: Failed to establish a new connection: [Errno 111] Connection refused'))"))
    },
    |r| {
        (
            Some("TimeoutError"),
            format!("timed out after {}.{} seconds", r.int(1, 120), r.int(0, 9)),
        )
    },
    |r| {
        (
            Some("UnicodeDecodeError"),
            format!(
                "'utf-8' codec can't decode byte 0x{} in position {}: invalid start byte",
                r.hex(2),
                r.int(0, 9_999)
            ),
        )
    },
    |r| {
        let (e, n) = (r.email(), r.pick(&["Jane Doe", "Wei Chen", "Olga Ivanova"]));
        (Some("sqlalchemy.exc.IntegrityError"), format!("(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint \"users_email_key\"\nDETAIL:  Key (email)=({e}) already exists.\n[SQL: INSERT INTO users (email, name) VALUES (%(email)s, %(name)s) RETURNING users.id]\n[parameters: {{'email': '{e}', 'name': '{n}'}}]\n(Background on this error at: https://sqlalche.me/e/20/gkpj)"))
    },
    |r| {
        (Some("pydantic.ValidationError"), format!("1 validation error for {}\n{}\n  Input should be a valid integer, unable to parse string as an integer [type=int_parsing, input_value='{}', input_type=str]", r.pick(&["OrderCreate", "UserUpdate", "Settings"]), r.column(), r.alnum(6)))
    },
    |r| {
        (
            Some("FileNotFoundError"),
            format!(
                "[Errno 2] No such file or directory: '/tmp/{}.csv'",
                r.uuid()
            ),
        )
    },
    |r| {
        (
            Some("TypeError"),
            format!(
                "can't compare datetime.datetime(2024, {}, {}, {}, {}, {}, {}) to None",
                r.int(1, 12),
                r.int(1, 28),
                r.int(0, 23),
                r.int(0, 59),
                r.int(0, 59),
                r.int(0, 999_999)
            ),
        )
    },
    |r| {
        (
            Some("redis.exceptions.ConnectionError"),
            format!(
                "Error 111 connecting to {}:6379. Connection refused.",
                r.host()
            ),
        )
    },
    // Go, HTTP clients and services.
    |r| {
        (
            None,
            format!(
                "dial tcp {}:{}: i/o timeout",
                r.ipv4(),
                r.pick(&["5432", "443", "9000"])
            ),
        )
    },
    |r| {
        (
            None,
            format!(
                "context deadline exceeded after {}m{}.{}s",
                r.int(1, 5),
                r.int(0, 59),
                r.int(0, 9)
            ),
        )
    },
    |r| {
        (None, format!("Post \"https://{}/v1/events\": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)", r.host()))
    },
    |r| {
        (
            Some("HTTPError"),
            format!(
                "HTTP 503 Service Unavailable from upstream {} (request id {})",
                r.host(),
                r.hex(32)
            ),
        )
    },
    |r| {
        (
            None,
            format!(
                "GET https://api.stripe.com/v1/customers/cus_{} 404 (Not Found)",
                r.alnum(14)
            ),
        )
    },
    |r| {
        (
            Some("StripeCardError"),
            format!("Your card was declined. (request req_{})", r.alnum(14)),
        )
    },
    |r| {
        (
            Some("StripeAuthenticationError"),
            format!("Invalid API Key provided: sk_live_51{}", r.alnum(30)),
        )
    },
    |r| {
        (
            None,
            format!(
                "upstream returned 429 Too Many Requests; retry after {} seconds",
                r.int(1, 120)
            ),
        )
    },
    |r| {
        (
            Some("RateLimitError"),
            format!(
                "Rate limit exceeded for IP {}: {} requests in {}s",
                r.ipv4(),
                r.int(100, 5_000),
                r.pick(&["10", "60", "1"])
            ),
        )
    },
    |r| {
        (None, format!("thread 'tokio-runtime-worker' panicked at src/handlers/{}.rs:{}:{}:\ncalled `Result::unwrap()` on an `Err` value: Os {{ code: 111, kind: ConnectionRefused, message: \"Connection refused\" }}", r.pick(&["orders", "auth", "billing"]), r.int(10, 400), r.int(5, 60)))
    },
    |r| {
        (
            None,
            format!(
                "upload of {} MB exceeds limit of {}MB for bucket avatars",
                r.int(6, 400),
                r.pick(&["5", "50"])
            ),
        )
    },
    // Supabase: PostgREST, Auth, Storage, Functions, Realtime, Supavisor.
    |_| {
        (
            Some("PGRST116"),
            "JSON object requested, multiple (or no) rows returned".to_owned(),
        )
    },
    |r| {
        (
            Some("PGRST202"),
            format!(
                "Could not find the function public.{}(p_days, p_org) in the schema cache",
                r.pick(&["get_stats", "search_documents", "monthly_revenue"])
            ),
        )
    },
    |r| {
        (
            Some("PGRST204"),
            format!(
                "Could not find the '{}' column of '{}' in the schema cache",
                r.column(),
                r.table()
            ),
        )
    },
    |_| (Some("AuthApiError"), "Invalid login credentials".to_owned()),
    |r| {
        (
            Some("AuthApiError"),
            format!(
                "A user with this email address has already been registered: {}",
                r.email()
            ),
        )
    },
    |r| {
        (
            Some("AuthApiError"),
            format!(
                "For security purposes, you can only request this after {} seconds.",
                r.int(1, 60)
            ),
        )
    },
    |_| {
        (
            Some("AuthApiError"),
            "Email link is invalid or has expired".to_owned(),
        )
    },
    |r| {
        (Some("AuthApiError"), format!("invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired by {}m{}s", r.int(1, 59), r.int(0, 59)))
    },
    |r| {
        (
            Some("StorageApiError"),
            format!(
                "The resource already exists (avatars/{}/{}.jpg)",
                r.uuid(),
                r.int(1_700_000_000, 1_799_999_999)
            ),
        )
    },
    |r| {
        (
            Some("StorageApiError"),
            format!(
                "Payload too large: {}MB exceeds the maximum allowed size of 50MB",
                r.int(51, 900)
            ),
        )
    },
    |r| {
        (
            Some("FunctionsHttpError"),
            format!(
                "Edge Function \"{}\" returned 546 after {}ms (request {})",
                r.pick(&["send-email", "stripe-webhook"]),
                r.int(100, 150_000),
                r.uuid()
            ),
        )
    },
    |r| {
        (
            None,
            format!(
                "channel \"realtime:public:{}\" subscription timed out after 10000ms",
                r.table()
            ),
        )
    },
    |_| {
        (
            Some("EDBHANDLEREXITED"),
            "(EDBHANDLEREXITED) connection to database closed. Check logs for more information"
                .to_owned(),
        )
    },
    |r| {
        (
            Some("XX000"),
            format!(
                "Max client connections reached (pool_size {}) for tenant {}",
                r.pick(&["15", "60", "200"]),
                r.project_ref()
            ),
        )
    },
    // Messages that carry secrets, as they reach a capture call unscrubbed.
    |r| {
        (Some("FetchError"), format!("request to {} failed with headers {{\"Authorization\":\"Bearer {}\",\"apikey\":\"{}\"}}", r.url(), r.jwt(), r.jwt()))
    },
    |r| {
        (Some("Error"), format!("could not connect to server: postgres://postgres:{}@db.{}.supabase.co:5432/postgres", r.password(), r.project_ref()))
    },
    |r| {
        (
            Some("AuthError"),
            format!(
                "login failed for user {} password={} ip={}",
                r.email(),
                r.password(),
                r.ipv4()
            ),
        )
    },
    |r| {
        (
            Some("PaymentError"),
            format!(
                "payment failed for card {} (order {}, customer {})",
                r.card(),
                r.int(100_000, 9_999_999),
                r.email()
            ),
        )
    },
    |r| {
        (
            Some("GitHubError"),
            format!(
                "Bad credentials for token ghp_{} on {}",
                r.alnum(36),
                r.url()
            ),
        )
    },
    |r| {
        (Some("AuthenticationError"), format!("401 Incorrect API key provided: sk-proj-{}. You can find your API key at https://platform.openai.com/account/api-keys.", r.base64url(48)))
    },
    |r| {
        (Some("Error"), format!("session refresh failed\nCookie: sb-access-token={}; sb-refresh-token={}; theme=dark\nX-Request-Id: {}", r.jwt(), r.alnum(22), r.uuid()))
    },
    |r| {
        (Some("WebhookError"), format!("No signatures found matching the expected signature for payload; secret=whsec_{} timestamp={}", r.alnum(32), r.int(1_700_000_000, 1_799_999_999)))
    },
    // Timestamps, durations and times of day.
    |r| {
        (
            None,
            format!(
                "Job {} scheduled for {} was skipped: previous run still running since {}",
                r.uuid(),
                r.iso(),
                r.iso()
            ),
        )
    },
    |r| {
        (
            Some("TokenExpiredError"),
            format!("jwt expired at {} (now {})", r.iso(), r.iso()),
        )
    },
    |r| {
        (
            None,
            format!(
                "cron job \"{}\" failed at {:02}:{:02} on {}",
                r.pick(&["nightly-billing", "cleanup", "digest"]),
                r.int(0, 23),
                r.int(0, 59),
                r.http_date()
            ),
        )
    },
    |r| {
        (
            None,
            format!(
                "lock on {} held by pid {} since {} ({} ms)",
                r.table(),
                r.int(100, 65_000),
                r.pg_timestamp(),
                r.int(1_000, 600_000)
            ),
        )
    },
    |r| {
        (
            Some("Error"),
            format!(
                "IPv6 peer {} reset the connection after {} bytes",
                r.ipv6(),
                r.int(0, 65_536)
            ),
        )
    },
    |r| {
        (
            None,
            format!(
                "build {} of commit {} failed in {}.{}s",
                r.int(1, 9_999),
                r.hex(40),
                r.int(1, 900),
                r.int(0, 9)
            ),
        )
    },
];

/// One JSON object per line: `{"type": ..., "message": ...}`.
pub fn messages() -> String {
    let mut rng = Rng(SEED);
    let mut out = String::new();
    for i in 0..MESSAGE_COUNT {
        let (exception_type, message) = MESSAGE_TEMPLATES[i % MESSAGE_TEMPLATES.len()](&mut rng);
        out.push_str(&json!({ "type": exception_type, "message": message }).to_string());
        out.push('\n');
    }
    out
}

type ContextTemplate = fn(&mut Rng) -> Value;

const CONTEXT_TEMPLATES: &[ContextTemplate] = &[
    // An HTTP request and its response, as a web framework's error handler sees it.
    |r| {
        json!({
            "request": {
                "method": r.pick(&["GET", "POST", "PATCH", "DELETE"]),
                "url": r.url(),
                "headers": {
                    "authorization": format!("Bearer {}", r.jwt()),
                    "content-type": "application/json",
                    "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                    "x-request-id": r.uuid(),
                    "x-forwarded-for": r.ipv4(),
                    "cookie": format!("sb-access-token={}; theme=dark", r.jwt()),
                },
                "query": { "page": r.int(1, 20).to_string(), "per_page": "50" },
            },
            "response": { "status": r.pick(&["500", "502", "503", "504"]).parse::<u16>().unwrap(), "duration_ms": r.int(5, 30_000) },
        })
    },
    // A Supabase Auth user.
    |r| {
        json!({
            "user": {
                "id": r.uuid(),
                "email": r.email(),
                "phone": format!("+1555{:07}", r.int(0, 9_999_999)),
                "role": "authenticated",
                "app_metadata": { "provider": "email", "providers": ["email", r.pick(&["google", "github", "apple"])] },
                "user_metadata": { "full_name": r.pick(&["Jane Doe", "Wei Chen", "Priya Patel"]), "avatar_url": format!("https://lh3.googleusercontent.com/a/{}", r.alnum(40)) },
                "created_at": r.iso(),
                "last_sign_in_at": r.iso(),
            },
            "session_id": r.uuid(),
        })
    },
    // A failed query, with the pool's connection settings.
    |r| {
        json!({
            "query": "select o.id, o.total from orders o join users u on u.id = o.user_id where u.email = $1 and o.status = $2",
            "params": [r.email(), r.pick(&["pending", "paid", "refunded"])],
            "duration_ms": r.int(1, 30_000) as f64 / 10.0,
            "rows": r.int(0, 500),
            "connection": {
                "host": r.host(),
                "port": 6543,
                "user": format!("postgres.{}", r.project_ref()),
                "password": r.password(),
                "ssl": true,
            },
        })
    },
    // A Stripe webhook event.
    |r| {
        json!({
            "id": format!("evt_{}", r.alnum(24)),
            "type": "charge.failed",
            "data": { "object": {
                "id": format!("ch_{}", r.alnum(24)),
                "amount": r.int(100, 99_999),
                "currency": "usd",
                "customer": format!("cus_{}", r.alnum(14)),
                "billing_details": {
                    "email": r.email(),
                    "name": r.pick(&["Jane Doe", "Lucas Silva", "Olga Ivanova"]),
                    "address": { "city": "Berlin", "country": "DE", "line1": format!("Hauptstr. {}", r.int(1, 200)), "postal_code": format!("{:05}", r.int(10_000, 99_999)) },
                },
                "payment_method_details": { "card": { "brand": "visa", "last4": format!("{:04}", r.int(0, 9_999)), "exp_month": r.int(1, 12), "exp_year": r.int(2025, 2031) } },
                "failure_code": "card_declined",
                "failure_message": "Your card was declined.",
            }},
            "livemode": true,
        })
    },
    // A background job and its payload.
    |r| {
        json!({
            "job": {
                "id": r.int(1, 9_999_999),
                "queue": r.pick(&["emails", "webhooks", "exports"]),
                "attempt": r.int(1, 5),
                "max_attempts": 5,
                "payload": {
                    "to": r.email(),
                    "template": "confirm-signup",
                    "vars": { "name": "Jane", "link": format!("https://app.acme.io/auth/confirm?token_hash={}&type=signup", r.hex(56)) },
                },
                "enqueued_at": r.iso(),
            },
            "worker": format!("worker-{}", r.int(1, 8)),
            "hostname": format!("ip-10-0-{}-{}", r.int(0, 255), r.int(1, 254)),
        })
    },
    // An environment dump from a crashing process.
    |r| {
        json!({
            "env": {
                "NODE_ENV": "production",
                "PORT": "3000",
                "DATABASE_URL": format!("postgres://postgres:{}@db.{}.supabase.co:5432/postgres", r.password(), r.project_ref()),
                "SUPABASE_URL": format!("https://{}.supabase.co", r.project_ref()),
                "SUPABASE_SERVICE_ROLE_KEY": r.jwt(),
                "STRIPE_SECRET_KEY": format!("sk_live_51{}", r.alnum(30)),
                "AWS_REGION": r.pick(&["eu-central-1", "us-east-1"]),
                "LOG_LEVEL": "info",
            },
            "pid": r.int(1, 65_000),
            "uptime_s": r.int(1, 900_000),
        })
    },
    // An LLM call.
    |r| {
        json!({
            "model": r.pick(&["gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b"]),
            "max_tokens": 1024,
            "prompt_tokens": r.int(100, 120_000),
            "completion_tokens": r.int(0, 4_000),
            "temperature": 0.2,
            "messages": [
                { "role": "system", "content": "You are a support assistant for Acme. Answer briefly." },
                { "role": "user", "content": format!("Hi, my email is {} and my order {} never arrived. Card ending {}.", r.email(), r.int(10_000, 99_999), r.int(1_000, 9_999)) },
            ],
            "api_key": format!("sk-proj-{}", r.base64url(48)),
        })
    },
    // A checkout form that failed validation.
    |r| {
        json!({
            "form": "checkout",
            "fields": {
                "email": r.email(),
                "password": r.password(),
                "card_number": r.card(),
                "cvc": format!("{:03}", r.int(0, 999)),
                "name": "Jane Doe",
                "address": { "line1": format!("{} Main St", r.int(1, 999)), "city": "Springfield", "zip": format!("{:05}", r.int(10_000, 99_999)) },
            },
            "validation_errors": [ { "field": "cvc", "message": "Your card's security code is incomplete." } ],
        })
    },
    // Browser breadcrumbs.
    |r| {
        json!({
            "browser": { "name": "Chrome", "version": format!("120.0.{}.{}", r.int(6000, 6200), r.int(1, 200)) },
            "os": { "name": "macOS", "version": "14.2" },
            "url": format!("https://app.acme.io/dashboard?tab=billing&org={}", r.uuid()),
            "viewport": { "w": 1440, "h": 900 },
            "breadcrumbs": [
                { "category": "navigation", "message": "/ -> /dashboard", "timestamp": r.iso() },
                { "category": "fetch", "data": { "method": "GET", "url": r.url(), "status_code": 200 }, "timestamp": r.iso() },
                { "category": "ui.click", "message": "button#pay-now", "timestamp": r.iso() },
                { "category": "console", "level": "error", "message": format!("Failed to load resource: the server responded with a status of 500 ({})", r.url()) },
            ],
        })
    },
    // An outgoing webhook with a JSON body kept as a string.
    |r| {
        json!({
            "webhook": {
                "id": r.uuid(),
                "url": format!("https://hooks.{}.io/inbound/{}", r.pick(&["acme", "zapier"]), r.alnum(20)),
                "headers": { "x-signature": r.hex(64), "x-api-key": r.alnum(32), "content-type": "application/json" },
                "body": format!("{{\"event\":\"user.created\",\"email\":\"{}\",\"password\":\"{}\"}}", r.email(), r.password()),
                "attempts": r.int(1, 10),
            },
        })
    },
    // A membership map keyed by e-mail address.
    |r| {
        let members: serde_json::Map<String, Value> = (0..r.int(2, 5))
            .map(|_| {
                (
                    r.email(),
                    json!({ "role": r.pick(&["owner", "admin", "member"]), "joined_at": r.iso() }),
                )
            })
            .collect();
        json!({ "org_id": r.uuid(), "members": members })
    },
    // A PostgreSQL error's fields.
    |r| {
        json!({
            "sqlstate": "23505",
            "schema": "public",
            "table": "users",
            "constraint": "users_email_key",
            "detail": format!("Key (email)=({}) already exists.", r.email()),
            "hint": null,
            "where": "SQL statement \"insert into public.users(email) values (new.email)\"\nPL/pgSQL function public.handle_new_user() line 3 at SQL statement",
            "query_params": { "email": r.email(), "session_token": r.alnum(32) },
        })
    },
];

/// One JSON object per line, each the context of one captured error.
pub fn contexts() -> String {
    let mut rng = Rng(SEED ^ 0xc0_47e7);
    let mut out = String::new();
    for i in 0..CONTEXT_COUNT {
        out.push_str(&CONTEXT_TEMPLATES[i % CONTEXT_TEMPLATES.len()](&mut rng).to_string());
        out.push('\n');
    }
    out
}
