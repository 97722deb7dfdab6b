//! Which variant of an A/B step a contact gets.
//!
//! The choice is a pure function of (cadence name, step number, contact id): the first eight
//! bytes of `SHA-256("{cadence}\u{1f}{step}\u{1f}{contact}")`, read as a big-endian number,
//! modulo 10,000, fall into one variant's share of the weights (in hundredths of a percent, in
//! the order written). The simulator, the REPL, the tests and the runner therefore agree; a
//! contact who enrols again gets the same variant (while the list of variants stays as it is);
//! and anyone can compute a contact's variant from its id (in a warehouse query, for example)
//! with the same three values.
//!
//! Changing the weights moves the contacts whose bucket crosses a boundary, and only those;
//! reordering the list changes which template each share sends.

use sha2::{Digest, Sha256};

use crate::check::Variant;

/// The bucket of a contact for a step: 0..10,000.
pub fn bucket(cadence: &str, step: u32, contact: &str) -> u32 {
    let mut h = Sha256::new();
    h.update(cadence.as_bytes());
    h.update([0x1f]);
    h.update(step.to_string().as_bytes());
    h.update([0x1f]);
    h.update(contact.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) % 10_000) as u32
}

/// The position in `variants` of the variant whose share holds `bucket`.
pub fn pick(variants: &[Variant], bucket: u32) -> usize {
    let mut upto = 0;
    for (i, v) in variants.iter().enumerate() {
        upto += v.weight;
        if bucket < upto {
            return i;
        }
    }
    variants.len().saturating_sub(1)
}

/// The variant a contact gets at a step (0 for a step without variants).
pub fn assign(cadence: &str, step: u32, contact: &str, variants: &[Variant]) -> usize {
    if variants.len() < 2 {
        return 0;
    }
    pick(variants, bucket(cadence, step, contact))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::TemplateId;

    fn split(weights: &[u32]) -> Vec<Variant> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| Variant {
                template: TemplateId(i),
                weight: w,
            })
            .collect()
    }

    #[test]
    fn the_hash_split_is_within_one_percent_of_the_weights() {
        for weights in [
            &[5000, 5000][..],
            &[2000, 8000],
            &[3333, 3333, 3334],
            &[100, 9900],
        ] {
            let variants = split(weights);
            let n = 100_000;
            let mut counts = vec![0u32; variants.len()];
            for i in 0..n {
                counts[assign("SaaS onboarding", 1, &format!("c{i}"), &variants)] += 1;
            }
            for (c, w) in counts.iter().zip(weights) {
                let share = f64::from(*c) / f64::from(n) * 100.0;
                let want = f64::from(*w) / 100.0;
                assert!(
                    (share - want).abs() < 1.0,
                    "{weights:?}: {share}% for {want}%"
                );
            }
        }
    }

    #[test]
    fn a_contact_always_gets_the_same_variant() {
        let variants = split(&[5000, 5000]);
        for i in 0..1000 {
            let id = format!("lead-{i}");
            let first = assign("Outbound", 2, &id, &variants);
            assert_eq!(first, assign("Outbound", 2, &id, &variants));
        }
    }

    #[test]
    fn steps_and_cadences_split_independently() {
        let variants = split(&[5000, 5000]);
        let same = (0..10_000)
            .filter(|i| {
                let id = format!("c{i}");
                assign("A", 1, &id, &variants) == assign("A", 2, &id, &variants)
            })
            .count();
        // Independent halves agree about half the time.
        assert!((4_700..5_300).contains(&same), "{same}");
    }

    #[test]
    fn the_bucket_is_the_documented_sha256_prefix() {
        // `printf 'A\x1f1\x1fc1' | sha256sum` begins ce6d5ae98235a68f; that number modulo
        // 10,000 is 255.
        assert_eq!(bucket("A", 1, "c1"), 255);
    }

    #[test]
    fn one_template_is_variant_zero() {
        assert_eq!(assign("A", 1, "c1", &split(&[10_000])), 0);
        assert_eq!(assign("A", 1, "c1", &[]), 0);
    }
}
