//! An npm publish document read as it streams: every byte is kept (the "skeleton") except
//! the base64 `data` strings of `_attachments.*`, which are handed out as they pass so the
//! tarball can be decoded into staging chunk by chunk. So a publish costs a chunk of its
//! attachment plus the rest of its document (small), not the document.
//!
//! The scanner follows only the structure it needs (strings, their escapes, containers,
//! keys and values); the skeleton is parsed as JSON afterwards, which rejects anything the
//! scanner let through. A document whose attachment keys are escaped (`"\u0064ata"`) keeps
//! its data in the skeleton, bounded by the skeleton's limit, and is read from there.

use base64::Engine as _;

/// How a push into the scanner ended early.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Transition {
    /// An attachment's `data` string opened (the attachment's name); its text follows.
    DataStart(String),
    /// The `data` string closed; the skeleton follows.
    DataEnd,
}

/// Why a document cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ScanError {
    /// The document without its attachments' data is larger than the limit.
    TooLarge(usize),
    /// Not a JSON document the scanner can follow.
    Malformed,
}

#[derive(Debug)]
struct Container {
    object: bool,
    /// In an object: a `:` was seen since the last `,` (a string now is a value).
    after_colon: bool,
    /// In an object at depth 3 or less: the raw text of the last key.
    key: Option<Vec<u8>>,
}

#[derive(Debug)]
enum Lex {
    /// Between tokens, or in a number or a literal.
    Outside,
    /// In a string kept in the skeleton; `key_start` is where a recorded key's text starts.
    String {
        escape: bool,
        key_start: Option<usize>,
    },
    /// In an attachment's `data` string; the bytes of an escape not yet complete.
    Data { escape: Option<Vec<u8>> },
}

/// Keys are recorded this deep: `_attachments` (1), an attachment's name (2), `data` (3).
const KEY_DEPTH: usize = 3;
/// Longest key recorded (a longer one names no attachment the scanner takes out).
const MAX_KEY_BYTES: usize = 4096;
/// Deepest nesting followed (JSON parsers stop far sooner; the stack stays small).
const MAX_DEPTH: usize = 512;

/// The streaming scanner. Push bytes with [`Scanner::push`]; take the skeleton with
/// [`Scanner::finish`].
#[derive(Debug)]
pub(super) struct Scanner {
    skeleton: Vec<u8>,
    limit: usize,
    stack: Vec<Container>,
    lex: Lex,
}

impl Scanner {
    /// A scanner whose skeleton may grow to `limit` bytes.
    pub(super) fn new(limit: usize) -> Scanner {
        Scanner {
            skeleton: Vec::new(),
            limit,
            stack: Vec::new(),
            lex: Lex::Outside,
        }
    }

    /// Whether the scanner is inside an attachment's `data` string.
    pub(super) fn in_data(&self) -> bool {
        matches!(self.lex, Lex::Data { .. })
    }

    /// Reads `input` until it is used up or a transition happens; returns how many bytes
    /// were used and the transition. The text of a `data` string (escapes resolved) is
    /// appended to `data`.
    pub(super) fn push(
        &mut self,
        input: &[u8],
        data: &mut Vec<u8>,
    ) -> Result<(usize, Option<Transition>), ScanError> {
        let mut at = 0;
        while at < input.len() {
            if self.in_data() {
                let (used, ended) = self.push_data(&input[at..], data)?;
                at += used;
                if ended {
                    return Ok((at, Some(Transition::DataEnd)));
                }
                continue;
            }
            // Copy a run of bytes that cannot change the structure in one go.
            let run_end = match self.lex {
                Lex::String { escape: false, .. } => {
                    memchr::memchr2(b'"', b'\\', &input[at..]).map_or(input.len(), |i| at + i)
                }
                _ => at,
            };
            if run_end > at {
                self.keep(&input[at..run_end])?;
                at = run_end;
                continue;
            }
            let byte = input[at];
            at += 1;
            if let Some(transition) = self.step(byte)? {
                return Ok((at, Some(transition)));
            }
        }
        Ok((at, None))
    }

    /// The skeleton, once the document is complete.
    pub(super) fn finish(self) -> Result<Vec<u8>, ScanError> {
        if !self.stack.is_empty() || !matches!(self.lex, Lex::Outside) {
            return Err(ScanError::Malformed);
        }
        Ok(self.skeleton)
    }

    fn keep(&mut self, bytes: &[u8]) -> Result<(), ScanError> {
        if self.skeleton.len() + bytes.len() > self.limit {
            return Err(ScanError::TooLarge(self.limit));
        }
        self.skeleton.extend_from_slice(bytes);
        Ok(())
    }

    /// One byte outside a `data` string.
    fn step(&mut self, byte: u8) -> Result<Option<Transition>, ScanError> {
        self.keep(&[byte])?;
        match &mut self.lex {
            Lex::String { escape, key_start } => {
                if *escape {
                    *escape = false;
                } else if byte == b'\\' {
                    *escape = true;
                } else if byte == b'"' {
                    if let Some(start) = *key_start {
                        let end = self.skeleton.len() - 1;
                        let key = (end - start <= MAX_KEY_BYTES)
                            .then(|| self.skeleton[start..end].to_vec());
                        if let Some(top) = self.stack.last_mut() {
                            top.key = key;
                        }
                    }
                    self.lex = Lex::Outside;
                }
                Ok(None)
            }
            Lex::Data { .. } => Err(ScanError::Malformed),
            Lex::Outside => {
                match byte {
                    b'{' | b'[' => {
                        if self.stack.len() == MAX_DEPTH {
                            return Err(ScanError::Malformed);
                        }
                        self.stack.push(Container {
                            object: byte == b'{',
                            after_colon: false,
                            key: None,
                        });
                    }
                    b'}' | b']' => {
                        let closed = self.stack.pop().ok_or(ScanError::Malformed)?;
                        if closed.object != (byte == b'}') {
                            return Err(ScanError::Malformed);
                        }
                    }
                    b':' => match self.stack.last_mut() {
                        Some(top) if top.object => top.after_colon = true,
                        _ => return Err(ScanError::Malformed),
                    },
                    b',' => {
                        if let Some(top) = self.stack.last_mut() {
                            top.after_colon = false;
                        }
                    }
                    b'"' => {
                        let is_key = self
                            .stack
                            .last()
                            .is_some_and(|c| c.object && !c.after_colon);
                        if is_key {
                            let recorded = self.stack.len() <= KEY_DEPTH;
                            self.lex = Lex::String {
                                escape: false,
                                key_start: recorded.then_some(self.skeleton.len()),
                            };
                        } else if let Some(name) = self.attachment_data() {
                            self.lex = Lex::Data { escape: None };
                            return Ok(Some(Transition::DataStart(name)));
                        } else {
                            self.lex = Lex::String {
                                escape: false,
                                key_start: None,
                            };
                        }
                    }
                    _ => {}
                }
                Ok(None)
            }
        }
    }

    /// When a string value opens here: the attachment's name if it is the value of
    /// `_attachments.{name}.data` in the top-level object.
    fn attachment_data(&self) -> Option<String> {
        let [top, attachments, attachment] = &self.stack[..] else {
            return None;
        };
        if !(top.object && attachments.object && attachment.object) {
            return None;
        }
        if top.key.as_deref() != Some(b"_attachments") || attachment.key.as_deref() != Some(b"data")
        {
            return None;
        }
        let raw = attachments.key.as_deref()?;
        let mut quoted = Vec::with_capacity(raw.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(raw);
        quoted.push(b'"');
        serde_json::from_slice::<String>(&quoted).ok()
    }

    /// Bytes inside a `data` string: its text goes to `data`, its closing quote to the
    /// skeleton. Returns the bytes used and whether the string closed.
    fn push_data(&mut self, input: &[u8], data: &mut Vec<u8>) -> Result<(usize, bool), ScanError> {
        let Lex::Data { escape } = &mut self.lex else {
            return Err(ScanError::Malformed);
        };
        let mut at = 0;
        while at < input.len() {
            if let Some(pending) = escape {
                pending.push(input[at]);
                at += 1;
                if let Some(text) = unescape(pending)? {
                    data.extend_from_slice(text.as_bytes());
                    *escape = None;
                }
                continue;
            }
            let Some(i) = memchr::memchr2(b'"', b'\\', &input[at..]) else {
                data.extend_from_slice(&input[at..]);
                return Ok((input.len(), false));
            };
            data.extend_from_slice(&input[at..at + i]);
            at += i + 1;
            if input[at - 1] == b'"' {
                self.lex = Lex::Outside;
                self.keep(b"\"")?;
                return Ok((at, true));
            }
            *escape = Some(Vec::with_capacity(6));
        }
        Ok((at, false))
    }
}

/// A JSON escape after its backslash, once complete: `None` while more bytes are needed.
fn unescape(pending: &[u8]) -> Result<Option<String>, ScanError> {
    let simple = |c: char| Ok(Some(c.to_string()));
    match pending {
        [b'"'] => simple('"'),
        [b'\\'] => simple('\\'),
        [b'/'] => simple('/'),
        [b'b'] => simple('\u{8}'),
        [b'f'] => simple('\u{c}'),
        [b'n'] => simple('\n'),
        [b'r'] => simple('\r'),
        [b't'] => simple('\t'),
        [b'u', hex @ ..] if hex.len() < 4 => Ok(None),
        [b'u', hex @ ..] => {
            let code = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or(ScanError::Malformed)?;
            // Surrogates cannot be base64: the text is refused as base64 later.
            Ok(Some(char::from_u32(code).unwrap_or('\u{fffd}').to_string()))
        }
        _ => Err(ScanError::Malformed),
    }
}

/// Base64 decoded as it arrives: whole groups of four characters at a time, the rest kept
/// for the next push. Nothing may follow padding.
#[derive(Debug, Default)]
pub(super) struct Base64Stream {
    pending: Vec<u8>,
    padded: bool,
}

/// The text is not base64.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct NotBase64;

impl Base64Stream {
    /// Decodes what it can of `text` (and what was kept) into `out`.
    pub(super) fn push(&mut self, text: &[u8], out: &mut Vec<u8>) -> Result<(), NotBase64> {
        if text.is_empty() {
            return Ok(());
        }
        if self.padded {
            return Err(NotBase64);
        }
        self.pending.extend_from_slice(text);
        let whole = self.pending.len() / 4 * 4;
        if whole == 0 {
            return Ok(());
        }
        self.padded = self.pending[..whole].ends_with(b"=");
        // A zeroed buffer of the decoded size, then decoded in place (`vec!` of zeros is
        // one zeroed allocation; growing by `resize` writes each byte, which unoptimised
        // builds do one at a time).
        let start = out.len();
        let estimate = whole / 4 * 3;
        if start == 0 {
            *out = vec![0; estimate];
        } else {
            out.resize(start + estimate, 0);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode_slice(&self.pending[..whole], &mut out[start..])
            .map_err(|_| NotBase64)?;
        out.truncate(start + decoded);
        self.pending.drain(..whole);
        Ok(())
    }

    /// The end of the text: nothing may be left over.
    pub(super) fn finish(self) -> Result<(), NotBase64> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(NotBase64)
        }
    }
}

/// Each attachment's name and decoded data, as `scan_whole` finds them.
#[cfg(test)]
pub(super) type Attachments = Vec<(String, Result<Vec<u8>, NotBase64>)>;

/// Scans a whole document pushed in pieces of `step` bytes (tests and the fuzz target):
/// the skeleton and each attachment's decoded data.
#[cfg(test)]
pub(super) fn scan_whole(doc: &[u8], step: usize) -> Result<(Vec<u8>, Attachments), ScanError> {
    let mut scanner = Scanner::new(1 << 20);
    let mut found = Vec::new();
    let mut current: Option<(String, Base64Stream, Result<Vec<u8>, NotBase64>)> = None;
    for piece in doc.chunks(step.max(1)) {
        let mut at = 0;
        while at < piece.len() {
            let mut text = Vec::new();
            let (used, transition) = scanner.push(&piece[at..], &mut text)?;
            at += used;
            if let Some((_, decoder, out)) = current.as_mut() {
                if let Ok(bytes) = out {
                    if decoder.push(&text, bytes).is_err() {
                        *out = Err(NotBase64);
                    }
                }
            }
            match transition {
                Some(Transition::DataStart(name)) => {
                    current = Some((name, Base64Stream::default(), Ok(Vec::new())));
                }
                Some(Transition::DataEnd) => {
                    if let Some((name, decoder, out)) = current.take() {
                        let out = out.and_then(|o| decoder.finish().map(|()| o));
                        found.push((name, out));
                    }
                }
                None => {}
            }
        }
    }
    Ok((scanner.finish()?, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_stream_out_and_the_rest_is_kept_whatever_the_pieces() {
        let tgz: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&tgz);
        let escaped = b64.replace('/', "\\/");
        let doc = format!(
            r#"{{"name":"a","versions":{{"1.0.0":{{"data":"not this","x":["{{\"data\":"]}}}},
               "_attachments":{{"a-1.0.0.tgz":{{"content_type":"x","data":"{escaped}","length":3000}},
               "n\u00e9.txt":{{"data":"QQ=="}}}},"readme":"r"}}"#
        );
        for step in [1, 2, 3, 7, 64, 4096, doc.len()] {
            let (skeleton, found) = scan_whole(doc.as_bytes(), step).unwrap();
            let parsed: serde_json::Value = serde_json::from_slice(&skeleton).unwrap();
            assert_eq!(parsed["_attachments"]["a-1.0.0.tgz"]["data"], "");
            assert_eq!(parsed["_attachments"]["a-1.0.0.tgz"]["length"], 3000);
            assert_eq!(parsed["versions"]["1.0.0"]["data"], "not this");
            assert_eq!(parsed["readme"], "r");
            assert_eq!(found.len(), 2, "step {step}");
            assert_eq!(found[0].0, "a-1.0.0.tgz");
            assert_eq!(found[0].1.as_deref(), Ok(&tgz[..]), "step {step}");
            assert_eq!(found[1].0, "n\u{e9}.txt");
            assert_eq!(found[1].1.as_deref(), Ok(&b"A"[..]));
        }
    }

    #[test]
    fn bad_base64_bad_structure_and_big_skeletons_are_refused() {
        let (_, found) =
            scan_whole(br#"{"_attachments":{"a.tgz":{"data":"QQ==QQ=="}}}"#, 3).unwrap();
        assert_eq!(found[0].1, Err(NotBase64));
        let (_, found) = scan_whole(br#"{"_attachments":{"a.tgz":{"data":"QQ"}}}"#, 5).unwrap();
        assert_eq!(found[0].1, Err(NotBase64));
        let (_, found) = scan_whole(br#"{"_attachments":{"a.tgz":{"data":"Q\nQ=="}}}"#, 5).unwrap();
        assert_eq!(found[0].1, Err(NotBase64));
        assert_eq!(
            scan_whole(br#"{"_attachments":{"a.tgz":{"data":"QQ=="}}"#, 4).unwrap_err(),
            ScanError::Malformed
        );
        assert_eq!(scan_whole(b"{]", 1).unwrap_err(), ScanError::Malformed);
        assert_eq!(
            scan_whole(br#"{"_attachments":{"a.tgz":{"data":"\q"}}}"#, 1).unwrap_err(),
            ScanError::Malformed
        );
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(
            Scanner::new(1 << 20).push(deep.as_bytes(), &mut Vec::new()),
            Err(ScanError::Malformed)
        );
        let mut big = Scanner::new(8);
        assert_eq!(
            big.push(br#"{"name":"widget"}"#, &mut Vec::new()),
            Err(ScanError::TooLarge(8))
        );
    }
}
