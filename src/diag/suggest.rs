//! "Did you mean ...?": the nearest known word to a misspelt one, for the
//! hints of the syntax and the checker alike.

/// The closest of `candidates` to `word`, if it is close enough to be a typo:
/// a few letters wrong, missing, extra or swapped (`bne` is one swap from
/// `ben`), or a known word with something added or cut off at the end
/// (`next_opening` for `next_open`). The nearest wins; among equals, the
/// first candidate.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .filter_map(|c| {
            let d = edit_distance(&word, c);
            let typo = d <= 2.max(c.len() / 4) && d < c.len();
            (typo || extends(&word, c)).then_some((d, *c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Whether one word is the other with something added at the end, the
/// shorter at least four letters long.
fn extends(word: &str, candidate: &str) -> bool {
    let (short, long) = match word.len() < candidate.len() {
        true => (word, candidate),
        false => (candidate, word),
    };
    short.chars().count() >= 4 && long.starts_with(short)
}

/// Edit distance counting a swap of two neighbouring letters as one edit
/// (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: two back, one back, and this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_is_one_edit() {
        assert_eq!(edit_distance("bne", "ben"), 1);
        assert_eq!(edit_distance("bne", "ana"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
    }

    #[test]
    fn the_nearest_name_is_suggested() {
        assert_eq!(did_you_mean("bne", &["ana", "ben"]), Some("ben"));
        assert_eq!(
            did_you_mean("next_opening", &["tenant", "next_open"]),
            Some("next_open")
        );
        assert_eq!(did_you_mean("xyz", &["ana", "ben"]), None);
        assert_eq!(did_you_mean("nxet_open", &["next_open"]), Some("next_open"));
    }
}
