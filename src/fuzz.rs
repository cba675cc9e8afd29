//! A small deterministic fuzzer for the parsers that face the network, run by `cargo test`
//! on stable Rust: each target starts from its committed corpus (`fuzz/corpus/{target}/`),
//! then feeds mutations of it (bit flips, interesting bytes and tokens, insertions,
//! deletions, repeats, splices) for a bounded time. Any panic fails the test and prints the
//! input that caused it, to be added to the corpus once fixed.
//!
//! `CODEARTIFACT_FUZZ_SECONDS` (default 1) sets each target's budget and
//! `CODEARTIFACT_FUZZ_SEED` its seed, so a longer local run is one variable away and a
//! failure replays with the seed it printed.
//!
//! Test-only and a leaf: it imports nothing from the crate.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

/// Tokens that tend to matter to our parsers: delimiters, escapes, path tricks, numbers at
/// the edges, Unicode that hides or reorders text.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"/",
    b"%",
    b"%2F",
    b"%00",
    b"..",
    b"../",
    b"=",
    b"&",
    b";",
    b" ",
    b"\r\n",
    b"\r\n\r\n",
    b"--",
    b"\0",
    b"-1",
    b"0",
    b"4294967295",
    b"18446744073709551616",
    b"1e999",
    b"null",
    b"true",
    b"\"\"",
    b"{}",
    b"[]",
    "\u{202e}".as_bytes(),
    "\u{200b}".as_bytes(),
    "\u{feff}".as_bytes(),
    b"\xff\xfe",
    b"\xc3\x28",
    b"AWS4-HMAC-SHA256",
    b"Credential=",
    b"SignedHeaders=",
    b"Signature=",
    b"-SNAPSHOT",
    b"maven-metadata.xml",
    b"Content-Disposition: form-data; name=\"",
];

/// Reproducible pseudo-random choices (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

/// One mutation of `input`, possibly spliced with another corpus entry.
pub fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(9) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = [0u8, 0x7f, 0x80, 0xff, b'"', b'\\', b'/', b'%'][rng.below(8)];
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            3 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            4 if !out.is_empty() => {
                // Repeat a slice, sometimes many times (lengths and nesting grow).
                let start = rng.below(out.len());
                let end = (start + 1 + rng.below(32)).min(out.len());
                let piece = out[start..end].to_vec();
                for _ in 0..=rng.below(8) {
                    out.splice(at..at, piece.iter().copied());
                }
            }
            5 => {
                let bytes: Vec<u8> = (0..=rng.below(8)).map(|_| rng.byte()).collect();
                out.splice(at..at, bytes);
            }
            6 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            7 => out.truncate(at),
            _ => {
                // An ASCII digit changed: lengths and versions move.
                if let Some(i) =
                    (0..out.len()).find(|&i| out[(i + at) % out.len()].is_ascii_digit())
                {
                    let i = (i + at) % out.len();
                    out[i] = b"0123456789"[rng.below(10)];
                }
            }
        }
    }
    out
}

/// Fuzzes `target` from the committed corpus `fuzz/corpus/{corpus_name}/` for the budget.
pub fn fuzz(name: &str, corpus_name: &str, target: impl FnMut(&[u8])) -> usize {
    run(name, &corpus(corpus_name), target)
}

/// The committed corpus of a target.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {} is missing: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("a corpus file"))
        .collect();
    assert!(!seeds.is_empty(), "the corpus of {target} is empty");
    seeds
}

/// Runs `target` on every seed, then on mutations for the time budget. Panics (failing the
/// test) with the input, escaped, when the target panics.
pub fn run(name: &str, seeds: &[Vec<u8>], mut target: impl FnMut(&[u8])) -> usize {
    let seconds: f64 = std::env::var("CODEARTIFACT_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let seed: u64 = std::env::var("CODEARTIFACT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0de);
    let budget = Duration::from_secs_f64(seconds);
    let mut rng = Rng::new(
        seed ^ name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b)),
    );
    let mut check = |input: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
            panic!(
                "fuzz target {name} panicked (seed {seed}) on input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    };
    for input in seeds {
        check(input);
    }
    let started = Instant::now();
    let mut runs = seeds.len();
    let mut last = seeds[0].clone();
    while started.elapsed() < budget {
        // Mostly fresh mutations of the corpus, sometimes a mutation of the last input, so
        // changes can accumulate.
        let base = if rng.below(4) == 0 {
            last.clone()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        let input = mutate(&mut rng, &base, seeds);
        check(&input);
        last = if input.len() > 1 << 20 { base } else { input };
        runs += 1;
    }
    eprintln!("fuzz target {name}: {runs} inputs in {seconds} s, no panic");
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible_and_a_panic_names_its_input() {
        let corpus = vec![b"{\"a\":1}".to_vec()];
        let a: Vec<_> = {
            let mut rng = Rng::new(7);
            (0..20)
                .map(|_| mutate(&mut rng, &corpus[0], &corpus))
                .collect()
        };
        let b: Vec<_> = {
            let mut rng = Rng::new(7);
            (0..20)
                .map(|_| mutate(&mut rng, &corpus[0], &corpus))
                .collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().any(|m| m != &corpus[0]));
        let caught = catch_unwind(|| {
            run("self-test", &corpus, |input| {
                assert!(!input.is_empty() && input[0] != b'{')
            });
        });
        let message = caught.unwrap_err();
        let message = message.downcast_ref::<String>().expect("a message");
        assert!(message.contains("{\\\"a\\\":1}"), "{message}");
    }
}
