//! Amortized pruning of expiring entries: a full scan only when the map has doubled
//! since the last one, so a long benchmark never pays a scan per request.

use std::collections::HashMap;
use std::hash::Hash;

pub(crate) fn maybe_prune<K: Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    next_at: &mut usize,
    keep: impl FnMut(&K, &mut V) -> bool,
) {
    if map.len() < (*next_at).max(1024) {
        return;
    }
    map.retain(keep);
    *next_at = (map.len() * 2).max(1024);
}

#[cfg(test)]
mod tests {
    #[test]
    fn prunes_only_after_doubling() {
        let mut m: std::collections::HashMap<u32, u32> = (0..1023).map(|i| (i, i)).collect();
        let mut next = 0;
        super::maybe_prune(&mut m, &mut next, |_, _| false);
        assert_eq!(m.len(), 1023, "below the floor: untouched");
        m.insert(5000, 1);
        super::maybe_prune(&mut m, &mut next, |k, _| *k >= 1000);
        assert_eq!(m.len(), 24);
        assert_eq!(next, 1024);
    }
}
