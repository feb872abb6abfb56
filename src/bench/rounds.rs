//! The loop both benchmarks share (`zc bench` sends, `zc bench write` writes): every
//! combination of the axes (mode x chunk, way x batch) once, repeats dropped; warm-up
//! rounds first, then measured rounds; within a round every combination runs once, in an
//! order rotated from round to round, so slow drift on the machine (other work, thermal,
//! page-cache pressure) hits every combination alike instead of whichever ran last.
//!
//! ```text
//! round 0 (warm-up)  A B C
//! round 1            B C A   -> after each run: Progress, and Measured(report so far)
//! round 2            C A B
//! ```
//!
//! After every measured run the caller gets the whole report so far, so that exports can
//! be rewritten and a crash or a Ctrl-C late in a long benchmark still leaves the rounds
//! that finished. What one run is, and what a report holds, is the caller's.

use anyhow::Result;

/// What a runner tells its caller between runs (never inside one).
pub enum Event<'a, R> {
    /// A run finished: `done` of `total` runs, warm-ups included.
    Progress { done: u32, total: u32 },
    /// A measured run finished; the report so far, for exports that must survive a crash.
    Measured(&'a R),
}

/// The record of one run, which the loop numbers once it is kept.
pub trait Numbered {
    /// Sets the 0-based index among the measured runs (warm-ups are not kept).
    fn number(&mut self, run: u32);
}

/// Every `(a, b)` once, in the order given, repeats dropped.
pub fn combinations<A: Copy + PartialEq, B: Copy + PartialEq>(a: &[A], b: &[B]) -> Vec<(A, B)> {
    let mut combos = Vec::new();
    for &x in a {
        for &y in b {
            if !combos.contains(&(x, y)) {
                combos.push((x, y));
            }
        }
    }
    combos
}

/// Runs `warmup` then `runs` rounds over `combos`. `once(i, combo)` makes one run of the
/// `i`th combination and returns its record; `report` builds the report from the records
/// kept so far, one list per combination in `combos` order. Returns the final report.
pub fn interleaved<C: Copy, Rec: Numbered, Rep>(
    combos: &[C],
    (warmup, runs): (u32, u32),
    mut once: impl FnMut(usize, C) -> Result<Rec>,
    report: impl Fn(&[Vec<Rec>]) -> Rep,
    on: &mut dyn FnMut(Event<'_, Rep>),
) -> Result<Rep> {
    let mut kept: Vec<Vec<Rec>> = combos.iter().map(|_| Vec::new()).collect();
    let total = (warmup + runs) * combos.len() as u32;
    let mut done = 0;
    for round in 0..warmup + runs {
        for k in 0..combos.len() {
            let i = (k + round as usize) % combos.len();
            let mut record = once(i, combos[i])?;
            done += 1;
            on(Event::Progress { done, total });
            if round >= warmup {
                record.number(round - warmup);
                kept[i].push(record);
                on(Event::Measured(&report(&kept)));
            }
        }
    }
    Ok(report(&kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ran {
        combo: char,
        run: Option<u32>,
    }

    impl Numbered for Ran {
        fn number(&mut self, run: u32) {
            self.run = Some(run);
        }
    }

    #[test]
    fn combinations_keep_the_order_given_and_drop_repeats() {
        assert_eq!(
            combinations(&['a', 'b', 'a'], &[1, 2, 1]),
            [('a', 1), ('a', 2), ('b', 1), ('b', 2)]
        );
    }

    #[test]
    fn rounds_rotate_number_the_measured_runs_and_report_after_each() {
        let mut order = Vec::new();
        let mut events = Vec::new();
        let last = interleaved(
            &['A', 'B', 'C'],
            (1, 2),
            |i, c| {
                assert_eq!(['A', 'B', 'C'][i], c);
                order.push(c);
                Ok(Ran {
                    combo: c,
                    run: None,
                })
            },
            |kept: &[Vec<Ran>]| {
                kept.iter()
                    .map(|runs| {
                        runs.iter()
                            .map(|r| format!("{}{}", r.combo, r.run.unwrap()))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            &mut |event: Event<'_, String>| match event {
                Event::Progress { done, total } => events.push(format!("{done}/{total}")),
                Event::Measured(report) => events.push(report.clone()),
            },
        )
        .unwrap();
        assert_eq!(order, ['A', 'B', 'C', 'B', 'C', 'A', 'C', 'A', 'B']);
        assert_eq!(last, "A0,A1 B0,B1 C0,C1");
        // Warm-ups report progress only; every measured run is followed by the report.
        assert_eq!(&events[..3], ["1/9", "2/9", "3/9"]);
        assert_eq!(&events[3..5], ["4/9", " B0 "]);
        assert_eq!(events.len(), 3 + 2 * 6);
        assert_eq!(events.last().unwrap(), "A0,A1 B0,B1 C0,C1");
    }
}
