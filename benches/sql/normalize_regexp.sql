-- Baseline for the benchmark of observe.fingerprint(): the message
-- normalization of pg_observe_core::normalize (normalize/), written as a
-- chain of regexp_replace calls in PostgreSQL's ARE syntax, in the same order
-- and with the same placeholders. It is a single SQL expression, so the
-- planner can inline it into the calling query.
--
-- Where ARE cannot follow the Rust scanner:
--   * The Rust scanner makes one pass in which the kind that starts leftmost
--     wins; here each kind is its own pass, so an earlier pass can take text
--     that a later kind starting further left would have had
--     (`-42-db.example.com`: Rust `<int>-<hostname>`, here `-<hostname>`),
--     and look-arounds next to an earlier placeholder see `<` or `>`.
--   * ARE alternations take the longest match, not the first alternative.
--   * Identifiers after PostgreSQL object keywords are not protected
--     (`function f(numeric(10,2))` loses its 10 and 2); only the hostname
--     rule's code-like-TLD exception keeps `u.id` and `public.info` intact.
--   * IPv6 is checked by syntax (Sentry's pattern), not parsed.
--   * URLs always drop a trailing `)`, `]` or `}`, balanced or not.
--   * Standard names (utf-8, HTTP/1.1, ...) and HTTP status codes are kept by
--     gluing a marker letter (U+01C2 'ǂ', U+01C3 'ǃ') into them, so that no
--     word-start rule fires, and restoring them at the end; input that
--     already contains these two letters is changed by that restore.

create schema if not exists bench;

create or replace function bench.normalize_regexp(m text) returns text
language sql immutable parallel safe
as $fn$
select
  -- The calls nest: the first pass is innermost. Comments name each call on
  -- the way in (last pass first) and each call's arguments on the way out
  -- (first pass first).
  -- restore the '-' of standard names, drop the status-code marker
  translate(
  -- restore the '/' of HTTP/x
  regexp_replace(
  -- 19. bool right after =
  regexp_replace(
  -- 18b. quoted_str after ': ' that ends the line, unless the line starts with a type name (KeyError: 'x')
  regexp_replace(
  -- 18a. quoted_str right after =
  regexp_replace(
  -- 17b. value: PostgreSQL failing row
  regexp_replace(
  -- 17a. value: PostgreSQL key tuple
  regexp_replace(
  -- 16. int: any length, thousands separators
  regexp_replace(
  -- 15. float: thousands separators, exponent; a minus only when not glued to a word
  regexp_replace(
  -- 14. git_sha
  regexp_replace(
  -- 13. hex: 0x..., or one letter case and a letter: 4-6 long with a digit, or 8-128 long; not a float's exponent
  regexp_replace(
  -- 12. swift_txn_id
  regexp_replace(
  -- 11. size
  regexp_replace(
  -- 10b. duration: symbols, Go-style chains; ms/ns/µs also after a space
  regexp_replace(
  -- 10a. duration: spelled-out units, space optional
  regexp_replace(
  -- 9. date: RFC 822/850/1123/3339, JavaScript, ISO datetimes, times of day, datetime.datetime(...)
  regexp_replace(
  -- 8. md5
  regexp_replace(
  -- 7. sha1
  regexp_replace(
  -- 6. uuid
  regexp_replace(
  -- 5. traceparent (W3C, AWS X-Ray)
  regexp_replace(
  -- 4b. ip v4, CIDR
  regexp_replace(
  -- 4a. ip v6 by syntax, with a digit, not a call, not '::' before a placeholder; zone, CIDR
  regexp_replace(
  -- 3. hostname: the longest name; code-like TLDs need two labels before them
  regexp_replace(
  -- 2. url: any scheme; stops before quotes and angle brackets, drops trailing punctuation
  regexp_replace(
  -- 1. email (no ' ` = / { | } in the local part; not inside a URL, which the Rust scan reaches first)
  regexp_replace(
  -- 0b. keep HTTP status codes (after status/HTTP words in any case, or before a title-case reason phrase), the minor version of HTTP/x.y and the digits of ed25519/ed448: a 'ǃ' is glued in front
  regexp_replace(
  -- 0a. keep standard names: their '-' or '/' becomes 'ǂ', so no number rule sees a word start
  regexp_replace(
  m
  -- 0a. keep standard names
  , '(?<=utf)-(?=(?:8|16|32)(?:le|be)?(?![[:alnum:]_]))|(?<=iso)-(?=8859-[0-9]{1,2}(?![[:alnum:]_]))|(?<=iso-8859)-(?=[0-9]{1,2}(?![[:alnum:]_]))|(?<=windows)-(?=125[0-8](?![[:alnum:]_]))|(?<=latin)-(?=1(?![[:alnum:]_]))|(?<=ucs)-(?=[24](?![[:alnum:]_]))|(?<=sha3?)-(?=(?:1|224|256|384|512)(?![[:alnum:]_]))|(?<=aes)-(?=(?:128|192|256)(?![[:alnum:]_]))|(?<=\mp)-(?=(?:256|384|521)(?![[:alnum:]_]))|(?<=\mhttp)/(?=(?:1\.[01]|2(?:\.0)?|3)(?![[:alnum:]_]))',
    'ǂ', 'gi')
  -- 0b. keep HTTP status codes
  , '(?<=(?:[Ss][Tt][Aa][Tt][Uu][Ss]|[Ss][Tt][Aa][Tt][Uu][Ss][Cc][Oo][Dd][Ee]|[Ss][Tt][Aa][Tt][Uu][Ss]_[Cc][Oo][Dd][Ee]|[Ss][Tt][Aa][Tt][Uu][Ss] [Cc][Oo][Dd][Ee]|[Hh][Tt][Tt][Pp]|[Hh][Tt][Tt][Pp]ǂ(?:1\.[01]|2|3)|[Hh][Tt][Tt][Pp] [Ee][Rr][Rr][Oo][Rr]|[Hh][Tt][Tt][Pp] [Ss][Tt][Aa][Tt][Uu][Ss])[ :="'']{0,3})[1-5][0-9]{2}(?![[:alnum:]_]|\.[0-9])|(?<![0-9][.,:])\m[1-5][0-9]{2}(?=[ :(-]{1,3}(?:Bad Request|Unauthorized|Payment Required|Forbidden|Not Found|Method Not Allowed|Not Acceptable|Request Timeout|Conflict|Gone|Precondition Failed|Payload Too Large|Unsupported Media Type|Unprocessable Entity|Unprocessable Content|Too Many Requests|Internal Server Error|Not Implemented|Bad Gateway|Service Unavailable|Gateway Timeout)(?![[:alnum:]_]))|(?<=[Hh][Tt][Tt][Pp]ǂ1\.)[01](?![[:alnum:]_])|(?<=[Hh][Tt][Tt][Pp]ǂ2\.)0(?![[:alnum:]_])|(?<=\m[Ee][Dd])(?:25519|448)\M',
    'ǃ\&', 'g')
  -- 1. email
  , '(?<!://[^[:space:]]*)[A-Za-z0-9.!#$%&*+?^_~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*',
    '<email>', 'g')
  -- 2. url
  , '\m[A-Za-z][A-Za-z0-9+-]{0,31}://[^[:space:]"''<>`]*[^[:space:]"''<>`.,;:!?)\]}]',
    '<url>', 'g')
  -- 3. hostname
  , '\m(?:(?:[A-Za-z0-9-]{1,63}\.)+(?:com|net|org|jp|de|uk|fr|br|ru|es|gov|pl|ca|au|cn|co|in|nl|edu|eu|ch|kr|cz|mx|be|tv|se|tr|tw|al|ua|ir|vn|cl|sk|ly|no|fi|us|pt|dk|ar|hu|tk|gr|il|ro|biz|ie|za|nz|sg|ee|th|io|xyz|pe|bg|hk|lt|ph|si|mobi|la|xxx|cf|hr|ng|kz|ug|gq|ae|lv|fm|sa|dev|ai|COM|NET|ORG|JP|DE|UK|FR|BR|RU|ES|GOV|PL|CA|AU|CN|CO|IN|NL|EDU|EU|CH|KR|CZ|MX|BE|TV|SE|TR|TW|AL|UA|IR|VN|CL|SK|LY|NO|FI|US|PT|DK|AR|HU|TK|GR|IL|RO|BIZ|IE|ZA|NZ|SG|EE|TH|IO|XYZ|PE|BG|HK|LT|PH|SI|MOBI|LA|XXX|CF|HR|NG|KZ|UG|GQ|AE|LV|FM|SA|DEV|AI)|(?<![/\\])[A-Za-z0-9-]{1,63}\.(?:[A-Za-z0-9-]{1,63}\.)+(?:id|at|is|it|to|me|my|by|ms|ga|rs|cc|info|app|cat|pro|link|site|jobs|news|club|tips|wiki|online|ID|AT|IS|IT|TO|ME|MY|BY|MS|GA|RS|CC|INFO|APP|CAT|PRO|LINK|SITE|JOBS|NEWS|CLUB|TIPS|WIKI|ONLINE)(?!\())(?![[:alnum:]_])',
    '<hostname>', 'g')
  -- 4a. ip v6 by syntax, with a digit, not a call, not '
  , '(?<![[:alnum:]_>])(?=[:.a-fA-F]*[0-9])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|(?:[0-9a-fA-F]{1,4}:){1,7}:|(?:[0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|(?:[0-9a-fA-F]{1,4}:){1,5}(?::[0-9a-fA-F]{1,4}){1,2}|(?:[0-9a-fA-F]{1,4}:){1,4}(?::[0-9a-fA-F]{1,4}){1,3}|(?:[0-9a-fA-F]{1,4}:){1,3}(?::[0-9a-fA-F]{1,4}){1,4}|(?:[0-9a-fA-F]{1,4}:){1,2}(?::[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(?::[0-9a-fA-F]{1,4}){1,6}|:(?::[0-9a-fA-F]{1,4}){1,7}|[fF][eE]80:(?::[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]+|::(?:[fF]{4}(?::0{1,4})?:)?(?:(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])\.){3}(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])|(?:[0-9a-fA-F]{1,4}:){1,4}:(?:(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])\.){3}(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9]))(?![[:alnum:](])(?<!:(?=<))(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])(?![[:alnum:]_]))?',
    '<ip>', 'g')
  -- 4b. ip v4, CIDR
  , '\m(?:(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])\.){3}(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])(?![[:alnum:]_])(?:/(?:3[0-2]|[12]?[0-9])(?![[:alnum:]_]))?',
    '<ip>', 'g')
  -- 5. traceparent
  , '\m(?:00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]|1-[0-9a-f]{8}-[0-9a-f]{24})(?![[:alnum:]_])',
    '<traceparent>', 'g')
  -- 6. uuid
  , '\m[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![[:alnum:]_])',
    '<uuid>', 'g')
  -- 7. sha1
  , '\m[0-9a-fA-F]{40}(?![[:alnum:]_])',
    '<sha1>', 'g')
  -- 8. md5
  , '\m[0-9a-fA-F]{32}(?![[:alnum:]_])',
    '<md5>', 'g')
  -- 9. date
  , '\m(?:(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat),[[:space:]][0-9]{1,2}[[:space:]](?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[[:space:]][0-9]{2,4}[[:space:]][0-9]{1,2}:[0-9]{1,2}(?::[0-9]{1,2})?[[:space:]](?:[-+][0-9]{2}[0-5][0-9]|UT|GMT|[ECMP][SD]T|[A-IK-Z])|(?:(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)[[:space:]])?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[[:space:]][0-3][0-9],[[:space:]][0-9]{2,4}|(?:Sun|Sunday|Mon|Monday|Tue|Tuesday|Wed|Wednesday|Thu|Thursday|Fri|Friday|Sat|Saturday),[[:space:]][0-9]{2}-(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-[0-9]{2}[[:space:]][0-9]{2}:[0-9]{2}:[0-9]{2}[[:space:]](?:[-+][0-9]{2}[0-5][0-9]|UT|GMT|[ECMP][SD]T|[A-IK-Z])|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z?(?:[-+]?[0-9]{2}:[0-9]{2})?|(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)[[:space:]](?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[[:space:]][0-9]{2}[[:space:]][0-9]{4}[[:space:]][0-9]{2}:[0-9]{2}:[0-9]{2}[[:space:]]GMT[-+][0-9]{4}(?:[[:space:]]\([^)\n]{1,64}\)(?!<))?|[0-9]{4}-?[01][0-9]-?[0-3][0-9][[:space:]T][0-2][0-9]:?[0-5][0-9](?::?[0-5][0-9](?:\.[0-9]+)?)?(?:[-+][0-2][0-9]:?[0-5][0-9]|Z)?|(?:1[0-2]|[1-9]):[0-5][0-9](?::[0-5][0-9])?(?![0-9:])[ 	]?[aApP][mM]|(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?(?![0-9:])|[0-9]{4}-[01][0-9]-[0-3][0-9]|[0-2][0-9]:[0-5][0-9]:[0-5][0-9]|(?:(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)[[:space:]]+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[[:space:]]+[0-9]{1,2}[[:space:]]+[0-9]{2}:[0-9]{2}:[0-9]{2}[[:space:]]+[0-9]{4}|(?:(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat),[[:space:]]+)?(?:0[1-9]|[1-2]?[0-9]|3[01])[[:space:]]+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[[:space:]]+(?:19[0-9]{2}|[2-9][0-9]{3})[[:space:]]+(?:2[0-3]|[0-1][0-9]):[0-5][0-9](?::(?:60|[0-5][0-9]))?[[:space:]]+(?:[-+][0-9]{2}[0-5][0-9]|UT|GMT|[ECMP][SD]T|[A-IK-Z])|datetime\.datetime\([^)\n]{0,128}\)(?!<))(?![[:alnum:]_])',
    '<date>', 'g')
  -- 10a. duration
  , '\m[0-9]+(?:\.[0-9]+)? ?(?:nanoseconds?|microseconds?|milliseconds?|millis|msecs?|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)(?![[:alnum:]_])',
    '<duration>', 'gi')
  -- 10b. duration
  , '\m[0-9]+(?:\.[0-9]+)?(?: (?:ms|ns|µs|μs)|(?:ms|ns|us|µs|μs|s|m|h)(?:[0-9]+(?:\.[0-9]+)?(?:ms|ns|us|µs|μs|s|m|h))*)(?![[:alnum:]_])',
    '<duration>', 'g')
  -- 11. size
  , '\m[0-9]+(?:\.[0-9]+)?(?: ?(?:[kKmMgGtTpPeE]i?[bB]|[bB][yY][tT][eE][sS]?)|[bB])(?![[:alnum:]_])',
    '<size>', 'g')
  -- 12. swift_txn_id
  , '\mtx[0-9a-f]{21}-[0-9a-f]{10}[^[:space:]]*',
    '<swift_txn_id>', 'g')
  -- 13. hex
  , '\m0[xX][0-9a-fA-F]+(?![[:alnum:]_])|(?!(?<=[0-9]\.)[0-9]+[eE][0-9])(?:\m|(?<![[:alnum:]_>])-)(?:(?=[a-f]*[0-9])(?=[0-9]*[a-f])[0-9a-f]{4,6}|(?=[A-F]*[0-9])(?=[0-9]*[A-F])[0-9A-F]{4,6}|(?=[0-9]*[a-f])[0-9a-f]{8,128}|(?=[0-9]*[A-F])[0-9A-F]{8,128})(?![[:alnum:]_])',
    '<hex>', 'g')
  -- 14. git_sha
  , '\m(?=[a-f]*[0-9])(?=[0-9]*[a-f])[0-9a-f]{7}(?![[:alnum:]_])',
    '<git_sha>', 'g')
  -- 15. float
  , '(?:\m|(?<![[:alnum:]_>])-)(?:[0-9]{1,3}(?:,[0-9]{3}(?![0-9]))+|[0-9]+)\.[0-9]+(?:[eE][-+]?[0-9]+)?(?![[:alnum:]_])',
    '<float>', 'g')
  -- 16. int
  , '(?:\m|(?<![[:alnum:]_>])-)(?:[0-9]{1,3}(?:,[0-9]{3}(?![0-9]))+|[0-9]+)(?![[:alnum:]_])',
    '<int>', 'g')
  -- 17a. value
  , '(?<=Key \([^=\n]*\)=\()[^\n]+?(?=\) (?:already exists|is not present in table|is still referenced from table|conflicts with existing key|conflicts with key|is duplicated))',
    '<value>', 'g')
  -- 17b. value
  , '(?<=Failing row contains \()[^\n]+(?=\))',
    '<value>', 'gn')
  -- 18a. quoted_str right after =
  , '(?<==)(?:''[^'']+''|"[^"]+")',
    '<quoted_str>', 'g')
  -- 18b. quoted_str after '
  , '(?<!^[^[:space:]]+: )(?<=: )(?:"[^\n]+"|''[^\n]+'')(?=[ \t\r]*\.?[ \t\r]*$)',
    '<quoted_str>', 'gn')
  -- 19. bool right after =
  , '(?<==)(?:true|True|false|False)(?![[:alnum:]_])',
    '<bool>', 'g')
  -- restore the '/' of HTTP/x
  , '(?<=http)ǂ',
    '/', 'gi')
  -- restore the '-' of standard names, drop the status-code marker
  , 'ǂǃ', '-')
$fn$;
