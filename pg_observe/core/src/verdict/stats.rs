//! The exact tests the verdict rests on. Deploy windows often hold a handful
//! of errors, where a normal approximation (a "naive percentage") is wrong
//! in both directions, so every test here is exact:
//!
//! * a rate against a ceiling (error rate ≤ 5 %): the binomial upper tail
//!   `P(X ≥ x | n, p₀)` for the failure side and the Clopper–Pearson upper
//!   bound for the "clearly within" side;
//! * two Poisson rates (errors per request or per second, after vs before):
//!   conditional on the total `N = xₐ + x_b`, `xₐ` is binomial with
//!   `p₀ = R·Eₐ / (R·Eₐ + E_b)` when the true ratio is `R` (Przyborowski and
//!   Wilenski's conditional test, as in Kayenta's and R's `poisson.test`),
//!   so "the ratio exceeds the tolerated `R`" is the same binomial tail.

use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF};

/// `P(X ≥ x)` for `X ~ Binomial(n, p)`.
pub fn binomial_upper_tail(x: u64, n: u64, p: f64) -> f64 {
    if x == 0 {
        return 1.0;
    }
    if x > n {
        return 0.0;
    }
    let p = p.clamp(0.0, 1.0);
    match Binomial::new(p, n) {
        // sf(k) is P(X > k).
        Ok(b) => b.sf(x - 1),
        Err(_) => f64::NAN,
    }
}

/// The one-sided Clopper–Pearson upper bound of a proportion at confidence
/// `1 − alpha`: the largest `p` the observation `x` of `n` does not rule out.
pub fn clopper_pearson_upper(x: u64, n: u64, alpha: f64) -> f64 {
    if n == 0 || x >= n {
        return 1.0;
    }
    match Beta::new((x + 1) as f64, (n - x) as f64) {
        Ok(b) => b.inverse_cdf(1.0 - alpha),
        Err(_) => 1.0,
    }
}

/// Result of comparing an after-rate with a before-rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateRatio {
    /// Observed ratio of the rates; infinite when the baseline saw no event
    /// and the after window did; `None` when neither did.
    pub ratio: Option<f64>,
    /// One-sided p-value of "the true ratio is at most `max_ratio`".
    pub p_value: f64,
}

/// Tests `H₀: rateₐ / rate_b ≤ max_ratio` for Poisson counts `after` over
/// exposure `exposure_after` and `before` over `exposure_before` (requests or
/// seconds, the same unit on both sides).
pub fn poisson_rate_ratio(
    after: u64,
    exposure_after: f64,
    before: u64,
    exposure_before: f64,
    max_ratio: f64,
) -> RateRatio {
    let total = after + before;
    if total == 0 || exposure_after <= 0.0 || exposure_before <= 0.0 {
        return RateRatio {
            ratio: None,
            p_value: 1.0,
        };
    }
    let ratio = if before == 0 {
        f64::INFINITY
    } else {
        (after as f64 / exposure_after) / (before as f64 / exposure_before)
    };
    let p0 = max_ratio * exposure_after / (max_ratio * exposure_after + exposure_before);
    RateRatio {
        ratio: Some(ratio),
        p_value: binomial_upper_tail(after, total, p0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn binomial_tail_matches_closed_forms() {
        // P(X ≥ n) = pⁿ; P(X ≥ 1) = 1 − (1 − p)ⁿ.
        assert!(close(binomial_upper_tail(5, 5, 0.6), 0.6f64.powi(5), 1e-12));
        assert!(close(
            binomial_upper_tail(1, 10, 0.1),
            1.0 - 0.9f64.powi(10),
            1e-12
        ));
        assert_eq!(binomial_upper_tail(0, 10, 0.1), 1.0);
        assert_eq!(binomial_upper_tail(11, 10, 0.1), 0.0);
    }

    #[test]
    fn clopper_pearson_of_zero_successes_is_the_rule_of_three() {
        // x = 0: the bound is 1 − alpha^(1/n) (≈ 3/n at 95 %).
        for n in [10u64, 100, 1000] {
            let expected = 1.0 - 0.05f64.powf(1.0 / n as f64);
            assert!(close(clopper_pearson_upper(0, n, 0.05), expected, 1e-9));
        }
        // R: binom.test(3, 100, alternative = "less")$conf.int[2] = 0.07571...
        assert!(close(clopper_pearson_upper(3, 100, 0.05), 0.0757, 5e-4));
        assert_eq!(clopper_pearson_upper(4, 4, 0.05), 1.0);
    }

    #[test]
    fn rate_ratio_matches_r_poisson_test() {
        // R: poisson.test(c(20, 5), c(1, 1), r = 1, alternative = "greater")$p.value
        //    = pbinom(19, 25, 0.5, lower.tail = FALSE) = 0.002039...
        let r = poisson_rate_ratio(20, 1.0, 5, 1.0, 1.0);
        assert!(close(r.p_value, 0.002039, 1e-5), "{r:?}");
        assert_eq!(r.ratio, Some(4.0));
        // Unequal exposure: 10 in 2 units vs 10 in 1 unit is a ratio of 0.5.
        let r = poisson_rate_ratio(10, 2.0, 10, 1.0, 1.0);
        assert_eq!(r.ratio, Some(0.5));
        assert!(r.p_value > 0.9);
    }

    #[test]
    fn no_events_is_no_evidence() {
        let r = poisson_rate_ratio(0, 900.0, 0, 900.0, 1.5);
        assert_eq!(r.ratio, None);
        assert_eq!(r.p_value, 1.0);
        let r = poisson_rate_ratio(8, 900.0, 0, 900.0, 1.5);
        assert_eq!(r.ratio, Some(f64::INFINITY));
        // p₀ = 1.5 / 2.5 = 0.6, and 0.6⁸ ≈ 0.0168.
        assert!(close(r.p_value, 0.6f64.powi(8), 1e-12));
    }
}
