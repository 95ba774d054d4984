//! Medians with min and max, and the result model every scenario fills in.

use serde::{Deserialize, Serialize};

/// Median, min and max of a set of measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// The median (the mean of the two middle values for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// How many values.
    pub n: usize,
}

impl Stat {
    /// The statistics of `values`; `None` when there are none (or one is not finite).
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        } else {
            sorted[mid]
        };
        Some(Stat {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            n: sorted.len(),
        })
    }
}

/// Which way a ratio must go to meet its target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Goal {
    /// The ratio must be at most the bound.
    AtMost(f64),
    /// The ratio must be at least the bound.
    AtLeast(f64),
    /// The ratio must be below the bound.
    Below(f64),
    /// No target: shown for information.
    Info,
}

impl Goal {
    /// Whether the median meets the goal (`None` without a target).
    pub fn met(self, median: f64) -> Option<bool> {
        match self {
            Goal::AtMost(b) => Some(median <= b),
            Goal::AtLeast(b) => Some(median >= b),
            Goal::Below(b) => Some(median < b),
            Goal::Info => None,
        }
    }

    /// The target as text, e.g. `<= 1.05x`.
    pub fn text(self) -> String {
        match self {
            Goal::AtMost(b) => format!("<= {b:.2}x"),
            Goal::AtLeast(b) => format!(">= {b:.2}x"),
            Goal::Below(b) => format!("< {b:.2}x"),
            Goal::Info => "-".into(),
        }
    }
}

/// One measured quantity (a row of the figures table).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// The unit, e.g. `us/req` or `req/s`.
    pub unit: String,
    /// Across runs.
    pub stat: Stat,
}

/// A ratio taken run by run (a row of the ratios table).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ratio {
    /// `a / b` in words, e.g. `SDK / raw + structs (time)`.
    pub name: String,
    /// Across runs.
    pub stat: Stat,
    /// The target.
    pub goal: Goal,
}

impl Ratio {
    /// Whether the median meets the target.
    pub fn met(&self) -> Option<bool> {
        self.goal.met(self.stat.median)
    }
}

/// Everything one scenario measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Section {
    /// Short id: `client`, `decode`, `bulk`, `emulator`, `memory`, `build`.
    pub id: String,
    /// Heading.
    pub title: String,
    /// How it was measured (one paragraph).
    pub method: String,
    /// When it ran (UTC, RFC 3339 to the second).
    pub when: String,
    /// The 1-minute load average before and after.
    pub load: (f64, f64),
    /// Whether it ran in `--quick` mode.
    pub quick: bool,
    /// Absolute figures.
    pub figures: Vec<Figure>,
    /// Ratios with their targets.
    pub ratios: Vec<Ratio>,
    /// Findings, choices and explanations.
    pub notes: Vec<String>,
}

/// Collects values run by run and turns them into figures and ratios.
#[derive(Debug, Default)]
pub struct Runs {
    series: Vec<(String, String, Vec<f64>)>,
}

impl Runs {
    /// Records one run's value of `name`.
    pub fn push(&mut self, name: &str, unit: &str, value: f64) {
        match self.series.iter_mut().find(|(n, _, _)| n == name) {
            Some((_, _, values)) => values.push(value),
            None => self
                .series
                .push((name.to_string(), unit.to_string(), vec![value])),
        }
    }

    /// The values of `name`, run by run.
    pub fn values(&self, name: &str) -> &[f64] {
        self.series
            .iter()
            .find(|(n, _, _)| n == name)
            .map_or(&[][..], |(_, _, v)| v.as_slice())
    }

    /// One figure per series, in insertion order.
    pub fn figures(&self) -> Vec<Figure> {
        self.series
            .iter()
            .filter_map(|(name, unit, values)| {
                Some(Figure {
                    name: name.clone(),
                    unit: unit.clone(),
                    stat: Stat::of(values)?,
                })
            })
            .collect()
    }

    /// The ratio `a / b` taken run by run.
    pub fn ratio(&self, label: &str, a: &str, b: &str, goal: Goal) -> Option<Ratio> {
        let (a, b) = (self.values(a), self.values(b));
        let per_run: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
        Some(Ratio {
            name: label.to_string(),
            stat: Stat::of(&per_run)?,
            goal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        let s = Stat::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(Stat::of(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert!(Stat::of(&[]).is_none());
        assert!(Stat::of(&[f64::NAN]).is_none());
    }

    #[test]
    fn ratios_are_paired_run_by_run() {
        let mut runs = Runs::default();
        for (a, b) in [(2.0, 1.0), (9.0, 3.0), (4.0, 4.0)] {
            runs.push("a", "s", a);
            runs.push("b", "s", b);
        }
        let r = runs.ratio("a / b", "a", "b", Goal::AtMost(2.5)).unwrap();
        assert_eq!((r.stat.median, r.stat.min, r.stat.max), (2.0, 1.0, 3.0));
        assert_eq!(r.met(), Some(true));
        assert_eq!(Goal::AtLeast(0.8).met(0.79), Some(false));
        assert_eq!(Goal::Below(1.0).met(1.0), Some(false));
        assert_eq!(Goal::Info.met(1.0), None);
    }
}
