//! Words and numbers as people read them: wrapping prose to the terminal, plurals, lists,
//! figures to three significant digits, ratios and shares. Every report, `zc explain` and
//! the commands use these, so that the same figure reads the same everywhere.

/// Greedy word wrap to `width` columns (no wrapping when `None`), each line ending in `\n`.
/// `first` prefixes the first line, `rest` the continuation lines. A word longer than a
/// line (a path) is cut, so that no line ever exceeds `width`.
pub fn wrap(text: &str, width: Option<usize>, first: &str, rest: &str) -> String {
    let Some(width) = width else {
        return format!("{first}{text}\n");
    };
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut empty = true; // no word on `line` yet, only the prefix
    for word in text.split_whitespace() {
        let used = line.chars().count();
        if !empty && used + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        let mut chars = word.chars().peekable();
        while chars.peek().is_some() {
            let room = width.saturating_sub(line.chars().count()).max(1);
            line.extend(chars.by_ref().take(room));
            if chars.peek().is_some() {
                out.push_str(&line);
                out.push('\n');
                line = rest.to_owned();
            }
        }
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `1 run`, `5 runs`: English needs the count to pick the word.
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `a`, `a and b`, `a, b and c`.
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Three significant digits, with k/M/G/T above 1000: `3.21`, `0.0321`, `32.8k`, `1.07G`.
/// Benchmarks vary by more than 0.1% run to run, so more digits would only be noise.
pub fn sig3(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    // Round to three significant digits first, so that 999.7 becomes 1.00k, not 1000.
    let rounded: f64 = format!("{x:.2e}").parse().unwrap_or(x);
    let (scaled, suffix) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|(scale, _)| rounded.abs() >= *scale)
        .map_or((rounded, ""), |(scale, suffix)| (rounded / scale, suffix));
    let magnitude = scaled.abs().log10().floor() as i32;
    let decimals = usize::try_from(2 - magnitude).unwrap_or(0);
    format!("{scaled:.decimals$}{suffix}")
}

/// A share in 0..=1 as a percentage with up to three significant digits. A share just
/// short of 1 reads `>99.9%`, never `100%`: "all of it was cached" must be true.
pub fn percent(share: f64) -> String {
    if !share.is_finite() {
        return share.to_string();
    }
    let digits = sig3(share * 100.0);
    let digits = if digits.contains('.') {
        digits.trim_end_matches('0').trim_end_matches('.')
    } else {
        &digits
    };
    if digits == "100" && share < 1.0 {
        ">99.9%".to_owned()
    } else {
        format!("{digits}%")
    }
}

/// A ratio as a multiplier: `2.0x`, `17x` (one decimal below 10, where it still means
/// something).
pub fn times(r: f64) -> String {
    if r < 9.95 {
        format!("{r:.1}x")
    } else {
        format!("{r:.0}x")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig3(0.0), "0");
        assert_eq!(sig3(3.2145), "3.21");
        assert_eq!(sig3(0.03214), "0.0321");
        assert_eq!(sig3(321.4), "321");
        assert_eq!(sig3(2.0), "2.00");
        assert_eq!(sig3(999.7), "1.00k");
        assert_eq!(sig3(32768.0), "32.8k");
        assert_eq!(sig3(1.234e9), "1.23G");
        assert_eq!(sig3(-4.5), "-4.50");
    }

    #[test]
    fn wrap_never_exceeds_the_width() {
        let text = wrap(
            "a long-ish sentence with /a/very/long/path/that/cannot/break",
            Some(12),
            "> ",
            "  ",
        );
        for line in text.lines() {
            assert!(line.chars().count() <= 12, "{line}");
        }
        assert!(text.starts_with("> a long-ish"));
        assert_eq!(wrap("as is", None, "", ""), "as is\n");
    }

    #[test]
    fn shares_in_percent_never_round_up_to_all() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.9997), ">99.9%");
    }
}
