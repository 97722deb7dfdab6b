//! A unified diff of two texts, line by line (for `cadence fmt --check`), with the `similar`
//! crate: Myers' algorithm in linear space, so that a file of any length diffs quickly.

/// `---`/`+++` headers and `@@` hunks with two lines of context; empty when equal.
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let mut out = format!("--- {name}\n+++ {name} (formatted)\n");
    if old.lines().eq(new.lines()) {
        out.push_str(
            "@@ the lines are the same; the line endings or the final newline differ @@\n",
        );
        return out;
    }
    let diff = similar::TextDiff::configure()
        .timeout(std::time::Duration::from_secs(5))
        .diff_lines(old, new);
    for group in diff.grouped_ops(2) {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        out.push_str(&format!(
            "@@ -{},{} +{},{} @@\n",
            old_range.start + 1,
            old_range.len(),
            new_range.start + 1,
            new_range.len()
        ));
        for op in &group {
            for change in diff.iter_changes(op) {
                out.push(match change.tag() {
                    similar::ChangeTag::Equal => ' ',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                });
                out.push_str(change.value().trim_end_matches(['\n', '\r']));
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified_diff("x", "a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn a_long_file_diffs_quickly() {
        let old: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        let new: String = (0..20_000).map(|i| format!("line {}\n", i % 7)).collect();
        let t0 = std::time::Instant::now();
        let d = unified_diff("big", &old, &new);
        assert!(d.starts_with("--- big\n"));
        assert!(t0.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn a_changed_line_shows_with_context() {
        let d = unified_diff("x.cadence", "a\nb\nc\nd\ne\n", "a\nb\nC\nd\ne\n");
        assert_eq!(
            d,
            "--- x.cadence\n+++ x.cadence (formatted)\n@@ -1,5 +1,5 @@\n a\n b\n-c\n+C\n d\n e\n"
        );
    }
}
