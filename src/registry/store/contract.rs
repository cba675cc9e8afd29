//! The `Kv` contract, one suite run against every engine (after Garage's `src/db/test.rs`):
//! what the registry relies on from storage, so an engine that passes can replace another.

use super::mem_kv::MemKv;
use super::sled_kv::SledKv;
use super::{Kv, Op};

fn put(k: &[u8], v: &[u8]) -> Op {
    Op::Put(k.to_vec(), v.to_vec())
}

fn keys(kv: &dyn Kv, prefix: &[u8], after: Option<&[u8]>) -> Vec<Vec<u8>> {
    kv.scan(prefix, after)
        .map(|pair| pair.expect("scan").0)
        .collect()
}

fn suite(kv: &dyn Kv) {
    // Reads of what was never written.
    assert_eq!(kv.get(b"missing").unwrap(), None);
    assert!(keys(kv, b"", None).is_empty(), "a new store is empty");

    // A commit is seen whole, and moves the generation.
    let before = kv.generation();
    kv.commit(vec![put(b"p/b", b"2"), put(b"p/a", b"1"), put(b"q", b"3")])
        .unwrap();
    assert!(kv.generation() > before, "a commit moves the generation");
    assert_eq!(kv.get(b"p/a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(kv.get(b"q").unwrap().as_deref(), Some(&b"3"[..]));

    // Ops apply in order: the last write to a key wins, within one commit too.
    kv.commit(vec![
        put(b"p/c", b"old"),
        put(b"p/c", b"new"),
        put(b"p/d", b"4"),
        Op::Delete(b"p/d".to_vec()),
        put(b"pa", b"outside"),
    ])
    .unwrap();
    assert_eq!(kv.get(b"p/c").unwrap().as_deref(), Some(&b"new"[..]));
    assert_eq!(
        kv.get(b"p/d").unwrap(),
        None,
        "put then delete leaves nothing"
    );

    // Scans: only the prefix, in key order, with values.
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = kv.scan(b"p/", None).map(Result::unwrap).collect();
    assert_eq!(
        pairs,
        vec![
            (b"p/a".to_vec(), b"1".to_vec()),
            (b"p/b".to_vec(), b"2".to_vec()),
            (b"p/c".to_vec(), b"new".to_vec()),
        ]
    );
    assert_eq!(
        keys(kv, b"", None).len(),
        5,
        "the empty prefix is everything"
    );

    // Scans after a key start strictly after it, wherever it sorts.
    assert_eq!(
        keys(kv, b"p/", Some(b"p/a")),
        [b"p/b".to_vec(), b"p/c".to_vec()]
    );
    assert_eq!(keys(kv, b"p/", Some(b"p/bb")), [b"p/c".to_vec()]);
    assert!(keys(kv, b"p/", Some(b"p/c")).is_empty());
    assert_eq!(
        keys(kv, b"p/", Some(b"o")).len(),
        3,
        "after, before the prefix"
    );
    assert!(
        keys(kv, b"p/", Some(b"z")).is_empty(),
        "after, beyond the prefix"
    );

    // Deletes, of present and absent keys.
    kv.commit(vec![
        Op::Delete(b"p/a".to_vec()),
        Op::Delete(b"never".to_vec()),
    ])
    .unwrap();
    assert_eq!(kv.get(b"p/a").unwrap(), None);
    assert_eq!(keys(kv, b"p/", None), [b"p/b".to_vec(), b"p/c".to_vec()]);

    // Prefixes ending in 0xFF have no successor of the same length.
    kv.commit(vec![put(&[0xff, 0xff, 1], b"x"), put(&[0xff, 0xfe], b"y")])
        .unwrap();
    assert_eq!(keys(kv, &[0xff, 0xff], None), [vec![0xff, 0xff, 1]]);
    assert_eq!(
        keys(kv, &[0xff], Some(&[0xff, 0xfe])),
        [vec![0xff, 0xff, 1]]
    );
}

#[test]
fn sled_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    suite(&SledKv::open(dir.path()).unwrap());
}

#[test]
fn memory_keeps_the_contract() {
    suite(&MemKv::new());
}

#[test]
fn sled_commits_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    SledKv::open(dir.path())
        .unwrap()
        .commit(vec![put(b"k", b"v")])
        .unwrap();
    let reopened = SledKv::open(dir.path()).unwrap();
    assert_eq!(reopened.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
}
