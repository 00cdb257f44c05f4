//! Mutations for the stable runner, in the manner of libFuzzer's and AFL's havoc stage: a few
//! stacked edits of a seed (bit flips, interesting bytes, inserts, deletes, duplicated ranges,
//! dictionary tokens, numbers, splices with another seed), drawn from a seeded [`SplitMix64`]
//! so a run repeats exactly.

use rein_core::backoff::{Random, SplitMix64};

/// Bytes that decoders branch on.
const INTERESTING: [u8; 18] = [
    0, 0xff, 0x7f, 0x80, 0xc3, 0xef, b'\n', b'\r', b'"', b'{', b'}', b'[', b':', b'0', b'9', b' ',
    b'\\', b'-',
];

/// Numbers that overflow or sit on a bound somewhere.
const NUMBERS: [&str; 14] = [
    "0",
    "1",
    "-1",
    "20",
    "21",
    "50",
    "128",
    "4096",
    "65536",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "1.5",
];

/// A seeded mutator.
#[derive(Debug)]
pub struct Mutator {
    rng: SplitMix64,
    dictionary: Vec<&'static [u8]>,
    max_len: usize,
}

impl Mutator {
    /// A mutator drawing from `seed`, inserting `dictionary` tokens, keeping inputs within
    /// `max_len` bytes.
    pub fn new(seed: u64, dictionary: Vec<&'static [u8]>, max_len: usize) -> Self {
        Mutator { rng: SplitMix64::new(seed), dictionary, max_len }
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n as u64) as usize
    }

    /// Applies 1, 2, 4 or 8 stacked mutations to `input`; `others` are splice partners.
    pub fn mutate(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        let n = 1 << self.below(4);
        for _ in 0..n {
            self.one(input, others);
        }
        input.truncate(self.max_len);
    }

    fn one(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        let len = input.len();
        match self.below(13) {
            0 if len > 0 => {
                let i = self.below(len);
                input[i] ^= 1 << self.below(8);
            }
            1 if len > 0 => {
                let i = self.below(len);
                input[i] = self.rng.next_u64() as u8;
            }
            2 if len > 0 => {
                let i = self.below(len);
                input[i] = INTERESTING[self.below(INTERESTING.len())];
            }
            3 => {
                let at = self.below(len + 1);
                let n = 1 + self.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.next_u64() as u8).collect();
                input.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let at = self.below(len);
                let n = 1 + self.below((len - at).min(32));
                input.drain(at..at + n);
            }
            5 if len > 0 => {
                // A range copied elsewhere: repeated fields, repeated events, nested objects.
                let from = self.below(len);
                let n = 1 + self.below((len - from).min(64));
                let chunk = input[from..from + n].to_vec();
                let at = self.below(len + 1);
                input.splice(at..at, chunk);
            }
            6 | 7 if !self.dictionary.is_empty() => {
                let pick = self.below(self.dictionary.len());
                let token = self.dictionary[pick];
                let at = self.below(len + 1);
                if self.below(2) == 0 || at + token.len() > len {
                    input.splice(at..at, token.iter().copied());
                } else {
                    input[at..at + token.len()].copy_from_slice(token);
                }
            }
            8 if !others.is_empty() => {
                // A splice: a piece of another seed, inserted or replacing the tail.
                let other = &others[self.below(others.len())];
                if other.is_empty() {
                    return;
                }
                let from = self.below(other.len());
                let n = 1 + self.below((other.len() - from).min(256));
                let piece = &other[from..from + n];
                let at = self.below(len + 1);
                if self.below(2) == 0 {
                    input.splice(at..at, piece.iter().copied());
                } else {
                    input.truncate(at);
                    input.extend_from_slice(&other[from..]);
                }
            }
            9 if len > 0 => {
                // A number replaced by one on a bound.
                let start = self.below(len);
                let Some(i) = input[start..].iter().position(u8::is_ascii_digit) else { return };
                let at = start + i;
                let end = at + input[at..].iter().take_while(|b| b.is_ascii_digit()).count();
                let number = NUMBERS[self.below(NUMBERS.len())].as_bytes();
                input.splice(at..end, number.iter().copied());
            }
            10 if len > 1 => {
                let a = self.below(len);
                let b = self.below(len);
                input.swap(a, b);
            }
            11 if len > 0 => {
                let at = self.below(len);
                input.truncate(at);
            }
            12 if len > 0 => {
                // A byte repeated: long lines, long numbers, deep nesting.
                let i = self.below(len);
                let n = 1 + self.below(128);
                let b = input[i];
                input.splice(i..i, std::iter::repeat_n(b, n));
            }
            _ => {
                let at = self.below(len + 1);
                input.insert(at, INTERESTING[self.below(INTERESTING.len())]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_inputs() {
        let run = |seed| {
            let mut m = Mutator::new(seed, vec![b"data: "], 4096);
            let others = vec![b"event: x\n\n".to_vec()];
            (0..200)
                .map(|_| {
                    let mut input = b"data: hello\n\n".to_vec();
                    m.mutate(&mut input, &others);
                    input
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().all(|i| i.len() <= 4096));
    }
}
