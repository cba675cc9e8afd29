//! Ruby's `Marshal` format 4.8, write side only: what the dependency API and the
//! `quick/Marshal.4.8/*.gemspec.rz` files are made of. No maintained Rust crate writes the
//! user-defined (`u`) and user-marshalled (`U`) objects RubyGems needs, and the subset is
//! small: nil, booleans, small integers, UTF-8 strings, symbols (repeats as links), arrays,
//! hashes and objects. Nothing is read here; the tests load every shape with the real Ruby.

/// A Ruby value, as far as RubyGems documents need.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i32),
    /// A UTF-8 string (written with its encoding, as Ruby writes one).
    Str(String),
    Sym(String),
    Array(Vec<Value>),
    Hash(Vec<(Value, Value)>),
    /// A plain object: class name and instance variables (names without `@`).
    Object(&'static str, Vec<(&'static str, Value)>),
    /// A `marshal_dump`/`marshal_load` object (`Gem::Version`, `Gem::Requirement`).
    UserMarshal(&'static str, Box<Value>),
    /// A `_dump`/`_load` object (`Gem::Specification`) and the bytes its `_dump` returned.
    UserDefined(&'static str, Vec<u8>),
}

/// `Marshal.dump(value)`.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut w = Writer {
        out: vec![4, 8],
        symbols: Vec::new(),
    };
    w.value(value);
    w.out
}

struct Writer {
    out: Vec<u8>,
    symbols: Vec<String>,
}

impl Writer {
    /// Ruby's compact integer (`w_long`): 0; 1…122 as n+5; −123…−1 as n−5; otherwise a
    /// signed byte count followed by the bytes, little-endian.
    fn long(&mut self, n: i32) {
        match n {
            0 => self.out.push(0),
            1..=122 => self.out.push(u8::try_from(n + 5).unwrap_or(0)),
            -123..=-1 => self.out.push((n - 5).to_le_bytes()[0]),
            _ => {
                let bytes = n.to_le_bytes();
                let mut len = 4;
                if n > 0 {
                    while len > 1 && bytes[len - 1] == 0 {
                        len -= 1;
                    }
                } else {
                    while len > 1 && bytes[len - 1] == 0xff {
                        len -= 1;
                    }
                }
                let count = i8::try_from(len).unwrap_or(4);
                self.out
                    .push(if n > 0 { count } else { -count }.to_le_bytes()[0]);
                self.out.extend_from_slice(&bytes[..len]);
            }
        }
    }

    fn len(&mut self, n: usize) {
        self.long(i32::try_from(n).unwrap_or(i32::MAX));
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.len(bytes.len());
        self.out.extend_from_slice(bytes);
    }

    fn symbol(&mut self, name: &str) {
        if let Some(index) = self.symbols.iter().position(|s| s == name) {
            self.out.push(b';');
            self.len(index);
        } else {
            self.out.push(b':');
            self.raw(name.as_bytes());
            self.symbols.push(name.to_string());
        }
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Nil => self.out.push(b'0'),
            Value::Bool(true) => self.out.push(b'T'),
            Value::Bool(false) => self.out.push(b'F'),
            Value::Int(n) => {
                self.out.push(b'i');
                self.long(*n);
            }
            Value::Str(s) => {
                // `I"…` then one instance variable, `E` = true: the string is UTF-8.
                self.out.extend_from_slice(b"I\"");
                self.raw(s.as_bytes());
                self.len(1);
                self.symbol("E");
                self.out.push(b'T');
            }
            Value::Sym(s) => self.symbol(s),
            Value::Array(items) => {
                self.out.push(b'[');
                self.len(items.len());
                for item in items {
                    self.value(item);
                }
            }
            Value::Hash(pairs) => {
                self.out.push(b'{');
                self.len(pairs.len());
                for (k, v) in pairs {
                    self.value(k);
                    self.value(v);
                }
            }
            Value::Object(class, ivars) => {
                self.out.push(b'o');
                self.symbol(class);
                self.len(ivars.len());
                for (name, v) in ivars {
                    self.symbol(&format!("@{name}"));
                    self.value(v);
                }
            }
            Value::UserMarshal(class, inner) => {
                self.out.push(b'U');
                self.symbol(class);
                self.value(inner);
            }
            Value::UserDefined(class, bytes) => {
                self.out.push(b'u');
                self.symbol(class);
                self.raw(bytes);
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Runs `ruby` with `script`, the dumped bytes on its standard input.
    pub(in crate::formats::ruby) fn ruby(script: &str, input: &[u8]) -> String {
        use std::io::Write as _;
        let mut child = std::process::Command::new("ruby")
            .args(["-e", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("these tests load what we write with the real Ruby: install `ruby`");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write to ruby");
        let out = child.wait_with_output().expect("ruby runs");
        assert!(
            out.status.success(),
            "ruby failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    #[test]
    fn integers_use_rubys_compact_encoding() {
        for (n, bytes) in [
            (0, vec![0]),
            (1, vec![6]),
            (122, vec![127]),
            (123, vec![1, 123]),
            (256, vec![2, 0, 1]),
            (-1, vec![0xfa]),
            (-124, vec![0xff, 0x84]),
        ] {
            let mut w = Writer {
                out: Vec::new(),
                symbols: Vec::new(),
            };
            w.long(n);
            assert_eq!(w.out, bytes, "{n}");
        }
    }

    #[test]
    fn every_shape_loads_in_ruby_as_written() {
        let value = Value::Array(vec![
            Value::Nil,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(0),
            Value::Int(300),
            Value::Int(-70000),
            Value::Str("héllo".into()),
            Value::UserMarshal(
                "Gem::Version",
                Box::new(Value::Array(vec![Value::Str("1.2".into())])),
            ),
            Value::Hash(vec![
                (Value::Sym("name".into()), Value::Str("rack".into())),
                (Value::Sym("name".into()), Value::Str("again".into())),
            ]),
            Value::Sym("name".into()),
        ]);
        let out = ruby(
            "require 'rubygems'; v = Marshal.load(STDIN.binmode.read); p v[0..5]; p v[6], v[6].encoding.to_s, v[7]; p v[8], v[9]",
            &dump(&value),
        );
        assert_eq!(
            out,
            "[nil, true, false, 0, 300, -70000]\n\"héllo\"\n\"UTF-8\"\n#<Gem::Version \"1.2\">\n{:name=>\"again\"}\n:name\n"
        );
    }
}
