//! Turning per-test results into a score and a letter, the way the HTTP
//! Observatory does: penalties first, bonuses only for a site already at 90.

use super::finding::{Finding, Test};

pub const BASELINE: i32 = 100;
/// Observatory's `MINIMUM_SCORE_FOR_EXTRA_CREDIT`.
pub const MINIMUM_SCORE_FOR_BONUS: i32 = 90;

/// Observatory's letter scale, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Letter {
    APlus,
    A,
    AMinus,
    BPlus,
    B,
    BMinus,
    CPlus,
    C,
    CMinus,
    DPlus,
    D,
    DMinus,
    F,
}

/// Lowest score of each letter, best letter first.
const SCALE: [(i32, Letter); 12] = [
    (100, Letter::APlus),
    (90, Letter::A),
    (85, Letter::AMinus),
    (80, Letter::BPlus),
    (70, Letter::B),
    (65, Letter::BMinus),
    (60, Letter::CPlus),
    (50, Letter::C),
    (45, Letter::CMinus),
    (40, Letter::DPlus),
    (30, Letter::D),
    (25, Letter::DMinus),
];

impl Letter {
    pub fn from_score(score: i32) -> Letter {
        SCALE
            .iter()
            .find(|(floor, _)| score >= *floor)
            .map_or(Letter::F, |&(_, letter)| letter)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Letter::APlus => "A+",
            Letter::A => "A",
            Letter::AMinus => "A-",
            Letter::BPlus => "B+",
            Letter::B => "B",
            Letter::BMinus => "B-",
            Letter::CPlus => "C+",
            Letter::C => "C",
            Letter::CMinus => "C-",
            Letter::DPlus => "D+",
            Letter::D => "D",
            Letter::DMinus => "D-",
            Letter::F => "F",
        }
    }
}

/// What one test contributed to the score: its worst penalty, or its bonus
/// when the site earned bonuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modifier {
    pub test: Test,
    pub points: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grade {
    /// Never below 0; above 100 when bonuses were earned.
    pub score: i32,
    pub grade: Letter,
    pub findings: Vec<Finding>,
    /// The non-zero contributions, in test order, so a status page can say
    /// where the points went.
    pub modifiers: Vec<Modifier>,
}

/// The outcome of one test. `bonus` is what the test earns if the site
/// qualifies for bonuses; checks leave it at 0 when they found a penalty.
#[derive(Debug)]
pub(crate) struct TestResult {
    pub test: Test,
    pub findings: Vec<Finding>,
    pub bonus: i32,
}

impl TestResult {
    pub fn new(test: Test) -> Self {
        TestResult {
            test,
            findings: Vec::new(),
            bonus: 0,
        }
    }

    pub fn push(&mut self, finding: Finding) {
        debug_assert_eq!(finding.id.test(), self.test);
        self.findings.push(finding);
    }

    fn worst_penalty(&self) -> i32 {
        self.findings
            .iter()
            .map(|f| f.penalty)
            .min()
            .unwrap_or(0)
            .min(0)
    }
}

pub(crate) fn tally(results: Vec<TestResult>) -> Grade {
    let mut score = BASELINE;
    let mut modifiers = Vec::new();
    for result in &results {
        let penalty = result.worst_penalty();
        if penalty < 0 {
            score += penalty;
            modifiers.push(Modifier {
                test: result.test,
                points: penalty,
            });
        }
    }
    if score >= MINIMUM_SCORE_FOR_BONUS {
        for result in &results {
            if result.bonus > 0 && result.worst_penalty() == 0 {
                score += result.bonus;
                modifiers.push(Modifier {
                    test: result.test,
                    points: result.bonus,
                });
            }
        }
    }
    let score = score.max(0);
    Grade {
        score,
        grade: Letter::from_score(score),
        findings: results.into_iter().flat_map(|r| r.findings).collect(),
        modifiers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observatory_scale_boundaries() {
        let cases = [
            (145, "A+"),
            (100, "A+"),
            (99, "A"),
            (90, "A"),
            (89, "A-"),
            (85, "A-"),
            (84, "B+"),
            (80, "B+"),
            (79, "B"),
            (70, "B"),
            (69, "B-"),
            (65, "B-"),
            (64, "C+"),
            (60, "C+"),
            (59, "C"),
            (50, "C"),
            (49, "C-"),
            (45, "C-"),
            (44, "D+"),
            (40, "D+"),
            (39, "D"),
            (30, "D"),
            (29, "D-"),
            (25, "D-"),
            (24, "F"),
            (0, "F"),
        ];
        for (score, letter) in cases {
            assert_eq!(Letter::from_score(score).as_str(), letter, "{score}");
        }
    }
}
