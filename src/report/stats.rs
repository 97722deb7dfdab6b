//! Statistics for A/B variants of an email in a cadence report: the normal distribution, a
//! two-proportion comparison (difference, 95% interval, z-test), and the number of contacts a
//! variant needs before a difference of a given size can be detected.

/// z for a two-sided 95% interval, `normal_quantile(0.975)`.
const Z_975: f64 = 1.959_963_984_540_054;

/// The standard normal CDF, via erfc.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function, `1 - erf(x)`, accurate to about 1.2e-7 relative everywhere
/// (the Chebyshev fit known as `erfcc` in Numerical Recipes).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * (-z * z + poly).exp();
    if x >= 0.0 {
        ans
    } else {
        2.0 - ans
    }
}

/// The inverse normal CDF (quantile) for `p` in (0, 1), by Acklam's rational approximations
/// (relative error about 1.2e-9). Gives -inf at 0, +inf at 1 and NaN outside [0, 1].
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;

    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    // Tails: rational function in sqrt(-2 ln p); the upper tail mirrors the lower one.
    let tail = |q: f64| {
        let q = (-2.0 * q.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail(p)
    } else if p > 1.0 - P_LOW {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// A comparison of two proportions: successes a of n_a against successes b of n_b.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub rate_a: f64,
    pub rate_b: f64,
    /// rate_b - rate_a
    pub diff: f64,
    /// 95% interval of the difference (unpooled Wald standard error), (low, high)
    pub low: f64,
    pub high: f64,
    /// two-sided p-value of the two-proportion z-test with the pooled standard error; 1.0 when
    /// undefined (no trials or pooled rate 0 or 1)
    pub p: f64,
    /// z statistic of that test (0.0 when the p-value is undefined); positive when b does better.
    pub z: f64,
}

/// Compares variant A (`a` successes of `n_a` contacts) with variant B (`b` of `n_b`).
/// None when n_a or n_b is 0, or when successes exceed contacts.
pub fn compare(a: u64, n_a: u64, b: u64, n_b: u64) -> Option<Comparison> {
    if n_a == 0 || n_b == 0 || a > n_a || b > n_b {
        return None;
    }
    let (na, nb) = (n_a as f64, n_b as f64);
    let rate_a = a as f64 / na;
    let rate_b = b as f64 / nb;
    let diff = rate_b - rate_a;

    let se_unpooled = (rate_a * (1.0 - rate_a) / na + rate_b * (1.0 - rate_b) / nb).sqrt();
    let low = diff - Z_975 * se_unpooled;
    let high = diff + Z_975 * se_unpooled;

    let pooled = (a + b) as f64 / (na + nb);
    let (z, p) = if pooled <= 0.0 || pooled >= 1.0 || diff == 0.0 {
        (0.0, 1.0)
    } else {
        let se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
        let z = diff / se;
        // Two-sided: 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt 2).
        (z, erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0))
    };
    Some(Comparison {
        rate_a,
        rate_b,
        diff,
        low,
        high,
        p,
        z,
    })
}

/// Contacts needed per variant to tell rate p1 from rate p2 with a two-sided test at level alpha
/// and the given power (the usual formula
/// n = (z_{1-α/2}·sqrt(2·p̄·q̄) + z_{power}·sqrt(p1·q1 + p2·q2))² / (p1−p2)², p̄ = (p1+p2)/2),
/// rounded up. None when p1 == p2 or either is outside (0,1) (likewise alpha and power).
pub fn sample_size(p1: f64, p2: f64, alpha: f64, power: f64) -> Option<u64> {
    let open_unit = |x: f64| x > 0.0 && x < 1.0;
    if p1 == p2 || ![p1, p2, alpha, power].into_iter().all(open_unit) {
        return None;
    }
    let p_bar = (p1 + p2) / 2.0;
    let z_alpha = normal_quantile(1.0 - alpha / 2.0);
    let z_power = normal_quantile(power);
    let root = z_alpha * (2.0 * p_bar * (1.0 - p_bar)).sqrt()
        + z_power * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = root * root / ((p1 - p2) * (p1 - p2));
    Some(n.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values below come from an independent implementation (double-precision erfc
    // and the exact normal quantile), not from the formulas in this file.

    fn close(got: f64, want: f64, tol: f64) {
        assert!(
            (got - want).abs() <= tol,
            "got {got}, want {want} (tol {tol})"
        );
    }

    #[test]
    fn erfc_matches_reference_values() {
        close(erfc(0.0), 1.0, 1e-7);
        close(erfc(0.5), 0.479_500_122_186_953_5, 1e-7);
        close(erfc(-0.5), 1.520_499_877_813_046_5, 1e-7);
        close(erfc(1.0), 0.157_299_207_050_285_13, 1e-7);
        close(erfc(2.0) / 0.004_677_734_981_047_265, 1.0, 2e-7);
    }

    #[test]
    fn normal_cdf_matches_reference_values() {
        close(normal_cdf(1.96), 0.975_002_1, 1e-7);
        close(normal_cdf(-1.0), 0.158_655_3, 1e-7);
        close(normal_cdf(0.0), 0.5, 1e-7);
    }

    #[test]
    fn normal_quantile_matches_reference_values() {
        close(normal_quantile(0.975), 1.959_964, 1e-6);
        close(normal_quantile(0.5), 0.0, 1e-12);
        close(normal_quantile(0.01), -2.326_347_874_040_840_8, 1e-8);
        close(normal_quantile(0.999), 3.090_232_306_167_813, 1e-8);
        assert!(normal_quantile(1.5).is_nan());
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn quantile_inverts_cdf() {
        for i in -40..=40 {
            let x = i as f64 / 8.0;
            close(normal_quantile(normal_cdf(x)), x, 1e-6);
        }
    }

    #[test]
    fn compare_agrees_with_independent_z_test() {
        let (a, n_a, b, n_b): (f64, f64, f64, f64) = (23.0, 1000.0, 41.0, 1000.0);
        let c = compare(23, 1000, 41, 1000).unwrap();
        // z from the chi-square statistic of the 2x2 table (no continuity correction): z² = χ².
        let (fa, fb) = (n_a - a, n_b - b);
        let total = n_a + n_b;
        let chi2 = total * (a * fb - b * fa).powi(2) / (n_a * n_b * (a + b) * (fa + fb));
        let z = chi2.sqrt();
        // p = 1 - 2 ∫_0^z φ(t) dt, with Simpson's rule.
        let phi = |t: f64| (-t * t / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let steps = 2000;
        let h = z / steps as f64;
        let mut sum = phi(0.0) + phi(z);
        for k in 1..steps {
            sum += if k % 2 == 1 { 4.0 } else { 2.0 } * phi(k as f64 * h);
        }
        let p = 1.0 - 2.0 * sum * h / 3.0;
        close(c.z, z, 1e-6);
        close(c.p, p, 1e-6);
        close(c.z, 2.286_887_704_261_148_6, 1e-6);
        close(c.p, 0.022_202_378_490_161, 1e-6);
        close(c.diff, 0.018, 1e-12);
        close(c.low, 0.002_593_386_467_796_05, 1e-9);
        close(c.high, 0.033_406_613_532_203_96, 1e-9);
    }

    #[test]
    fn compare_without_trials_is_none() {
        assert_eq!(compare(0, 0, 3, 10), None);
        assert_eq!(compare(3, 10, 0, 0), None);
        assert_eq!(compare(11, 10, 3, 10), None);
    }

    #[test]
    fn identical_rates_give_p_one() {
        for (a, n_a, b, n_b) in [(10, 100, 10, 100), (10, 100, 20, 200), (0, 50, 0, 80)] {
            let c = compare(a, n_a, b, n_b).unwrap();
            assert_eq!(c.diff, 0.0);
            assert_eq!(c.p, 1.0);
            assert_eq!(c.z, 0.0);
        }
        assert_eq!(compare(50, 50, 80, 80).unwrap().p, 1.0);
    }

    #[test]
    fn sample_size_matches_hand_computation() {
        // 5% vs 7%: p̄ = 0.06, sqrt(2·0.06·0.94) = 0.335857, sqrt(0.0475 + 0.0651) = 0.335559;
        // (1.959964·0.335857 + 0.841621·0.335559)² / 0.02² = 0.940682² / 0.0004 = 2212.2 → 2213.
        // (The often-quoted 2,210 uses the rounded z values 1.96 and 0.84.)
        assert_eq!(sample_size(0.05, 0.07, 0.05, 0.8), Some(2213));
        assert_eq!(sample_size(0.07, 0.05, 0.05, 0.8), Some(2213));
        // 10% vs 20%: 198.96 → 199; 30% vs 50% at α = 0.01, power 0.9: 176.06 → 177.
        assert_eq!(sample_size(0.1, 0.2, 0.05, 0.8), Some(199));
        assert_eq!(sample_size(0.3, 0.5, 0.01, 0.9), Some(177));
    }

    #[test]
    fn sample_size_rejects_degenerate_input() {
        assert_eq!(sample_size(0.05, 0.05, 0.05, 0.8), None);
        assert_eq!(sample_size(0.0, 0.05, 0.05, 0.8), None);
        assert_eq!(sample_size(0.05, 1.0, 0.05, 0.8), None);
        assert_eq!(sample_size(0.05, 0.07, 0.0, 0.8), None);
    }
}
