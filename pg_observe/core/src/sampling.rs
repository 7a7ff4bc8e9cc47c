//! Flood control's sampling: past `limit` events of one issue in one minute,
//! the n-th is stored with probability `limit / n` (ARCHITECTURE.md, "Flood
//! control").

/// Probability with which the `n`-th event of the minute is stored. A limit
/// of zero disables flood control.
pub fn sample_rate(n: u64, limit: u64) -> f64 {
    if limit == 0 || n <= limit {
        1.0
    } else {
        limit as f64 / n as f64
    }
}

/// Whether to store an event, given a uniform draw from `[0, 1)`.
pub fn keep(rate: f64, draw: f64) -> bool {
    draw < rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_kept_up_to_the_limit() {
        for n in 1..=100 {
            assert_eq!(sample_rate(n, 100), 1.0);
            assert!(keep(sample_rate(n, 100), 0.999_999));
        }
        assert_eq!(sample_rate(1_000_000, 0), 1.0);
    }

    #[test]
    fn rate_decays_past_the_limit() {
        assert_eq!(sample_rate(200, 100), 0.5);
        assert_eq!(sample_rate(1000, 100), 0.1);
        assert!(keep(0.1, 0.05));
        assert!(!keep(0.1, 0.15));
    }

    #[test]
    fn expected_storage_grows_logarithmically_and_estimates_are_unbiased() {
        let (limit, burst) = (100u64, 100_000u64);
        let expected_rows: f64 = (1..=burst).map(|n| sample_rate(n, limit)).sum();
        let bound = limit as f64 * (1.0 + (burst as f64 / limit as f64).ln());
        assert!(expected_rows <= bound + 1.0, "{expected_rows} > {bound}");
        assert!(expected_rows >= limit as f64 * (burst as f64 / limit as f64).ln());
        // Each event contributes rate * (1 / rate) = 1 in expectation.
        let estimate: f64 = (1..=burst)
            .map(|n| sample_rate(n, limit) * (1.0 / sample_rate(n, limit)))
            .sum();
        assert!((estimate - burst as f64).abs() < 1e-6);
    }
}
