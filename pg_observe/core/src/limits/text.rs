//! Text and stack-trace truncation.

use std::borrow::Cow;

use super::ELLIPSIS;

/// Truncates to at most max_bytes (UTF-8 char boundary), ending with "…"
/// when cut. Borrowed exactly when it fits, so callers can tell a cut by
/// `Cow::Owned`. Below 3 bytes the ellipsis itself does not fit, and the
/// result is a bare prefix.
pub fn truncate_text(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    let Some(room) = max_bytes.checked_sub(ELLIPSIS.len()) else {
        return Cow::Owned(text[..floor_char_boundary(text, max_bytes)].to_string());
    };
    let cut = floor_char_boundary(text, room);
    let mut out = String::with_capacity(cut + ELLIPSIS.len());
    out.push_str(&text[..cut]);
    out.push_str(ELLIPSIS);
    Cow::Owned(out)
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// For stack traces: keeps the head and the tail lines (the innermost frames
/// and the entry point both matter, and which end holds which depends on the
/// language), replacing the middle with one line "… N lines omitted …";
/// result at most max_bytes. Half the room goes to the head, the rest (and
/// whatever the head left) to the tail. A first or last line too long to keep
/// whole is cut with "…". Falls back to `truncate_text` when there are no
/// whole middle lines to omit. Borrowed exactly when it fits.
pub fn truncate_stack(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    // Fewer lines than bytes can be omitted, so a marker sized for
    // `text.len()` always has room for the real count.
    let Some(room) = max_bytes.checked_sub(omitted_marker(text.len()).len()) else {
        return truncate_text(text, max_bytes);
    };
    let bytes = text.as_bytes();

    let head_room = room / 2;
    let mut head_end = 0;
    while let Some(newline) = bytes[head_end..head_room.min(bytes.len())]
        .iter()
        .position(|&b| b == b'\n')
    {
        head_end += newline + 1;
    }
    let (head, consumed) = if head_end > 0 {
        (Cow::Borrowed(&text[..head_end]), head_end)
    } else {
        let Some(first_end) = text.find('\n').map(|newline| newline + 1) else {
            return truncate_text(text, max_bytes);
        };
        match cut_line(&text[..first_end], head_room) {
            Some(cut) => (Cow::Owned(cut), first_end),
            None => (Cow::Borrowed(""), 0),
        }
    };

    let tail_room = room - head.len();
    let mut tail_start = bytes.len();
    loop {
        let lowest = bytes
            .len()
            .saturating_sub(tail_room)
            .saturating_sub(1)
            .max(consumed);
        let Some(search_end) = tail_start.checked_sub(1).filter(|&end| end > lowest) else {
            break;
        };
        match bytes[lowest..search_end].iter().rposition(|&b| b == b'\n') {
            Some(newline) => tail_start = lowest + newline + 1,
            None => break,
        }
    }
    let (tail, middle_end) = if tail_start < bytes.len() {
        (Cow::Borrowed(&text[tail_start..]), tail_start)
    } else {
        let last_start = text[consumed..]
            .trim_end_matches('\n')
            .rfind('\n')
            .map_or(consumed, |newline| consumed + newline + 1);
        match cut_line(&text[last_start..], tail_room) {
            Some(cut) => (Cow::Owned(cut), last_start),
            None => (Cow::Borrowed(""), bytes.len()),
        }
    };

    let middle = &bytes[consumed..middle_end];
    let omitted = middle.iter().filter(|&&b| b == b'\n').count()
        + usize::from(middle.last().is_some_and(|&b| b != b'\n'));
    if omitted == 0 {
        return truncate_text(text, max_bytes);
    }
    let marker = omitted_marker(omitted);
    let mut out = String::with_capacity(head.len() + marker.len() + tail.len());
    out.push_str(&head);
    out.push_str(&marker);
    out.push_str(&tail);
    Cow::Owned(out)
}

/// The line cut with "…" to fit `room`, keeping its newline; `None` when
/// not even one character and "…" fit.
fn cut_line(line: &str, room: usize) -> Option<String> {
    let (content, newline) = match line.strip_suffix('\n') {
        Some(content) => (content, "\n"),
        None => (line, ""),
    };
    let room = room.checked_sub(newline.len())?;
    if room <= ELLIPSIS.len() {
        return None;
    }
    let mut cut = truncate_text(content, room).into_owned();
    cut.push_str(newline);
    Some(cut)
}

fn omitted_marker(lines: usize) -> String {
    let noun = if lines == 1 { "line" } else { "lines" };
    format!("{ELLIPSIS} {lines} {noun} omitted {ELLIPSIS}\n")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn truncate_text_table() {
        let cases = [
            ("hello", 10, "hello", false),
            ("hello", 5, "hello", false),
            ("hello world", 8, "hello…", true),
            ("héllo wörld", 6, "hé…", true),
            ("日本語テキスト", 7, "日…", true),
            ("🦀🦀", 5, "…", true),
            ("abc", 3, "abc", false),
            ("abcd", 3, "…", true),
            ("abc", 2, "ab", true),
            ("日本", 2, "", true),
            ("abc", 0, "", true),
            ("", 0, "", false),
        ];
        for (text, max, expected, cut) in cases {
            let out = truncate_text(text, max);
            assert_eq!(out, expected, "{text:?} at {max}");
            assert_eq!(matches!(out, Cow::Owned(_)), cut, "{text:?} at {max}");
        }
    }

    fn js_stack(frames: usize) -> String {
        let mut stack =
            String::from("TypeError: Cannot read properties of undefined (reading 'id')\n");
        for i in 0..frames {
            stack.push_str(&format!(
                "    at handler{i} (/app/src/routes/r{i}.js:{i}:17)\n"
            ));
        }
        stack.push_str(
            "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
        );
        stack
    }

    #[test]
    fn truncate_stack_keeps_both_ends() {
        let stack = js_stack(300);
        let out = truncate_stack(&stack, 1000);
        assert!(out.len() <= 1000, "{}", out.len());
        assert!(out.starts_with(
            "TypeError: Cannot read properties of undefined (reading 'id')\n    at handler0 "
        ));
        assert!(out.ends_with("(node:internal/process/task_queues:95:5)"));
        let marker = out.lines().find(|line| line.contains("omitted")).unwrap();
        let omitted: usize = marker.split(' ').nth(1).unwrap().parse().unwrap();
        assert_eq!(marker, format!("… {omitted} lines omitted …"));
        assert_eq!(out.lines().count() - 1 + omitted, stack.lines().count());
        let (head, tail) = out.split_once(&format!("{marker}\n")).unwrap();
        assert!(stack.starts_with(head));
        assert!(stack.ends_with(tail));
    }

    #[test]
    fn truncate_stack_keeps_the_python_exception_line() {
        let mut stack = String::from("Traceback (most recent call last):\n");
        for i in 0..100 {
            stack.push_str(&format!(
                "  File \"/app/m{i}.py\", line {i}, in f{i}\n    f{}()\n",
                i + 1
            ));
        }
        stack.push_str("ValueError: invalid literal for int() with base 10: 'x'\n");
        let out = truncate_stack(&stack, 600);
        assert!(out.len() <= 600);
        assert!(out.starts_with("Traceback (most recent call last):\n"));
        assert!(out.ends_with("ValueError: invalid literal for int() with base 10: 'x'\n"));
        assert!(out.contains(" lines omitted …\n"));
    }

    #[test]
    fn truncate_stack_cuts_an_overlong_first_line() {
        let stack = format!("Error: {}\n{}", "x".repeat(5000), js_stack(50));
        let out = truncate_stack(&stack, 800);
        assert!(out.len() <= 800);
        assert!(out.starts_with("Error: xxx"));
        assert!(out.lines().next().unwrap().ends_with('…'));
        assert!(out.contains(" lines omitted …\n"));
        assert!(out.ends_with("task_queues:95:5)"));
    }

    #[test]
    fn truncate_stack_falls_back_to_text_truncation() {
        let one_line = "x".repeat(500);
        assert_eq!(
            truncate_stack(&one_line, 100),
            truncate_text(&one_line, 100)
        );
        let two_lines = format!("{}\n{}", "a".repeat(300), "b".repeat(300));
        assert_eq!(
            truncate_stack(&two_lines, 100),
            truncate_text(&two_lines, 100)
        );
        let stack = js_stack(20);
        assert_eq!(truncate_stack(&stack, 10), truncate_text(&stack, 10));
        assert!(matches!(
            truncate_stack(&stack, stack.len()),
            Cow::Borrowed(_)
        ));
    }

    fn stack_text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop_oneof!["[ -~]{0,60}", any::<String>()], 0..40)
            .prop_map(|lines| lines.join("\n"))
    }

    proptest! {
        #[test]
        fn truncate_text_keeps_a_prefix_within_the_limit(text in any::<String>(), max in 0usize..64) {
            let out = truncate_text(&text, max);
            prop_assert!(out.len() <= max);
            prop_assert_eq!(matches!(out, Cow::Borrowed(_)), text.len() <= max);
            let kept = out.strip_suffix(ELLIPSIS).filter(|_| text.len() > max).unwrap_or(&out);
            prop_assert!(text.starts_with(kept));
        }

        #[test]
        fn truncate_stack_keeps_head_and_tail_within_the_limit(text in stack_text(), max in 0usize..400) {
            let out = truncate_stack(&text, max);
            prop_assert!(out.len() <= max, "{} > {}", out.len(), max);
            prop_assert_eq!(matches!(out, Cow::Borrowed(_)), text.len() <= max);
            if let Some((head, tail)) = out
                .split_once(" lines omitted …\n")
                .or_else(|| out.split_once(" line omitted …\n"))
                .filter(|_| text.len() > max)
            {
                let head = head.rsplit_once("… ").map_or(head, |(head, _)| head);
                let head = head.strip_suffix("…\n").unwrap_or(head);
                prop_assert!(text.starts_with(head), "head {head:?}");
                let cut_tail = tail.trim_end_matches('\n');
                let cut_tail = cut_tail.strip_suffix(ELLIPSIS).unwrap_or(cut_tail);
                prop_assert!(text.ends_with(tail) || text.contains(cut_tail), "tail {tail:?}");
            } else if text.len() > max {
                prop_assert_eq!(out, truncate_text(&text, max));
            }
        }
    }
}
