//! Error sentences without `core::fmt`.
//!
//! Every error of this crate says what went wrong in one clause (its
//! [`Explain`] impl), written to a [`SentenceOut`] as templates with numbers
//! and characters filled in ([`SentenceOut::fill`]): the UART on a device, a
//! `core::fmt::Formatter` on a host (every error's `Display` is
//! [`display_sentence`]). One rendering serves both, so the firmware prints
//! byte for byte the sentence `charm` prints, without linking `core::fmt`'s
//! machinery (`Formatter`, `fmt::write`, integer `Display`, and for `{:?}`
//! of a `char` the Unicode tables that decide its escapes: about 5 KB of a
//! Cortex-M4F's flash).
//!
//! ```
//! use charm_core::{Explain, FormatError, SentenceOut};
//! struct Line(String);
//! impl SentenceOut for Line {
//!     fn text(&mut self, text: &str) {
//!         self.0.push_str(text);
//!     }
//! }
//! let e = FormatError::Truncated { needed: 120, available: 64 };
//! let mut line = Line(String::new());
//! e.explain(&mut line);
//! assert_eq!(line.0, "it is truncated: 64 bytes of 120");
//! assert_eq!(line.0, e.to_string());
//! ```

use core::num::NonZeroUsize;

/// Where sentences are written: a UART, a string, a `core::fmt::Formatter`.
pub trait SentenceOut {
    /// Appends `text` as it is.
    fn text(&mut self, text: &str);

    /// Appends `template` with its placeholders replaced, in order, by
    /// `values`:
    ///
    /// - `{}`: the value in decimal, as `{}` of `core::fmt` prints it;
    /// - `{x}`: the value's low 32 bits as eight lowercase hexadecimal
    ///   digits, as `{:08x}` prints a `u32` (a CRC-32, an address);
    /// - `{c}`: the value as a character: quoted, and always with its code
    ///   point, `'é' (U+00E9)`; a control character (general category Cc:
    ///   U+0000–U+001F, U+007F–U+009F) or a line or paragraph separator
    ///   (U+2028, U+2029), which would break the line, as its code point
    ///   alone: `U+000A`.
    ///
    /// Any other `{` is text; a placeholder with no value left is dropped.
    ///
    /// ```
    /// use charm_core::SentenceOut;
    /// let mut s = String::new();
    /// struct To<'a>(&'a mut String);
    /// impl SentenceOut for To<'_> {
    ///     fn text(&mut self, text: &str) {
    ///         self.0.push_str(text);
    ///     }
    /// }
    /// To(&mut s).fill("{} of {} at {x}: {c}", &[3, 40, 0xff000, '!' as usize]);
    /// assert_eq!(s, "3 of 40 at 000ff000: '!' (U+0021)");
    /// ```
    fn fill(&mut self, template: &str, values: &[usize]) {
        let bytes = template.as_bytes();
        let mut values = values.iter();
        // Text from `start` up to the placeholder at `at` goes out as it is.
        let (mut start, mut at) = (0, 0);
        while at < bytes.len() {
            let placeholder = match bytes[at..] {
                [b'{', b'}', ..] => Placeholder::Decimal,
                [b'{', b'x', b'}', ..] => Placeholder::Hex8,
                [b'{', b'c', b'}', ..] => Placeholder::Char,
                _ => {
                    at += 1;
                    continue;
                }
            };
            // `{` and `}` are ASCII, so both ends are character boundaries.
            self.text(template.get(start..at).unwrap_or(""));
            at += placeholder.len();
            start = at;
            if let Some(&value) = values.next() {
                match placeholder {
                    Placeholder::Decimal => put_decimal(self, value),
                    Placeholder::Hex8 => put_hex(self, value as u32, 8, LOWER_HEX),
                    Placeholder::Char => put_char(self, value),
                }
            }
        }
        self.text(template.get(start..).unwrap_or(""));
    }
}

/// An error that says what went wrong in one clause: lowercase, no full stop,
/// for a front end to put in a sentence (`error: the weights ... cannot be
/// used: ` and the clause).
pub trait Explain {
    /// Writes the clause to `out`.
    fn explain(&self, out: &mut dyn SentenceOut);
}

/// Writes `error`'s clause to a `Formatter`: the body of every error's
/// `Display` impl. Width, fill and precision are not applied.
pub fn display_sentence(
    error: &(impl Explain + ?Sized),
    f: &mut core::fmt::Formatter<'_>,
) -> core::fmt::Result {
    let mut out = FormatterOut { f, result: Ok(()) };
    error.explain(&mut out);
    out.result
}

/// A `Formatter` as a [`SentenceOut`]: keeps the first write error and
/// writes nothing after it.
struct FormatterOut<'f, 'a> {
    f: &'f mut core::fmt::Formatter<'a>,
    result: core::fmt::Result,
}

impl SentenceOut for FormatterOut<'_, '_> {
    fn text(&mut self, text: &str) {
        if self.result.is_ok() {
            self.result = self.f.write_str(text);
        }
    }
}

/// The placeholders of [`SentenceOut::fill`].
#[derive(Clone, Copy)]
enum Placeholder {
    /// `{}`
    Decimal,
    /// `{x}`
    Hex8,
    /// `{c}`
    Char,
}

impl Placeholder {
    /// Bytes of the placeholder in the template.
    fn len(self) -> usize {
        match self {
            Placeholder::Decimal => 2,
            Placeholder::Hex8 | Placeholder::Char => 3,
        }
    }
}

/// Digits of `{:x}`.
const LOWER_HEX: &str = "0123456789abcdef";
/// Digits of `{:X}`, as code points are written (`U+00E9`).
const UPPER_HEX: &str = "0123456789ABCDEF";

/// Appends digit `d` (below 16) from `digits`.
fn put_digit(out: &mut (impl SentenceOut + ?Sized), d: usize, digits: &'static str) {
    out.text(digits.get(d..d + 1).unwrap_or("?"));
}

/// `n` in decimal, most significant digit first.
fn put_decimal(out: &mut (impl SentenceOut + ?Sized), n: usize) {
    const TEN: NonZeroUsize = NonZeroUsize::MIN.saturating_add(9);
    // The largest power of ten not above n (1 for n < 10); a NonZero, so the
    // divisions below need no check for zero.
    let mut p = NonZeroUsize::MIN;
    while let Some(next) = p.checked_mul(TEN).filter(|q| q.get() <= n) {
        p = next;
    }
    loop {
        put_digit(out, n / p % 10, LOWER_HEX);
        match NonZeroUsize::new(p.get() / 10) {
            Some(q) => p = q,
            None => return,
        }
    }
}

/// `n` in hexadecimal with `digits` (`LOWER_HEX` or `UPPER_HEX`), at least
/// `min_len` digits (zeros in front).
fn put_hex(out: &mut (impl SentenceOut + ?Sized), n: u32, min_len: u32, digits: &'static str) {
    let significant = (u32::BITS - n.leading_zeros()).div_ceil(4);
    for d in (0..significant.max(min_len).min(8)).rev() {
        put_digit(out, (n >> (4 * d)) as usize & 0xF, digits);
    }
}

/// `{c}` of [`SentenceOut::fill`]: `'c' (U+XXXX)`, or `U+XXXX` alone for a
/// character that would break the line; a value that is no character
/// (a surrogate, or above U+10FFFF) as its code point alone too.
fn put_char(out: &mut (impl SentenceOut + ?Sized), value: usize) {
    let code = value as u32;
    let shown = char::from_u32(code)
        .filter(|c| !matches!(c, '\0'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{2028}' | '\u{2029}'));
    if let Some(c) = shown {
        out.text("'");
        out.text(c.encode_utf8(&mut [0u8; 4]));
        out.text("' (");
    }
    out.text("U+");
    put_hex(out, code, 4, UPPER_HEX);
    if shown.is_some() {
        out.text(")");
    }
}
