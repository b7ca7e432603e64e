//! UTF-8 validation in a few compares a character, for the firmware's
//! flash.
//!
//! `core::str::from_utf8` keeps a 256-byte table of sequence widths and a
//! word-at-a-time ASCII path: 624 bytes of the Cortex-M4F firmware, which
//! checks two short texts with it once at start-up (the vocabulary of the
//! weight file and the prime of the parameters record). [`str_from_utf8`]
//! gives the same answer for every input (RFC 3629: no overlong form, no
//! surrogate, nothing above U+10FFFF; the tests compare it with core's on
//! every sequence of up to three bytes, on every four-byte lead and second
//! byte, and on random text) in a fraction of the bytes.

/// `bytes` as text when they are UTF-8, else `None`: what
/// `core::str::from_utf8(bytes).ok()` gives, without its table.
///
/// ```
/// assert_eq!(charm_core::str_from_utf8("añ€𝄞".as_bytes()), Some("añ€𝄞"));
/// assert_eq!(charm_core::str_from_utf8(&[0xc0, 0x80]), None); // overlong
/// assert_eq!(charm_core::str_from_utf8(&[0xed, 0xa0, 0x80]), None); // surrogate
/// ```
pub fn str_from_utf8(bytes: &[u8]) -> Option<&str> {
    if !is_utf8(bytes) {
        return None;
    }
    // SAFETY: `is_utf8` accepts exactly the well-formed UTF-8 sequences of
    // the Unicode standard's table 3-7 (the tests check it against core's
    // validator), which is what `from_utf8_unchecked` requires.
    #[allow(unsafe_code)]
    Some(unsafe { core::str::from_utf8_unchecked(bytes) })
}

/// Whether `bytes` is a sequence of well-formed UTF-8 characters: a lead
/// byte's leading ones give the length (0: ASCII; 2, 3, 4), each byte after
/// it is a continuation byte (`10xxxxxx`), and the code point they decode to
/// needs that length (no overlong form), is no surrogate (U+D800–DFFF) and
/// is at most U+10FFFF: table 3-7 of the Unicode standard.
#[inline(never)]
fn is_utf8(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&lead) = bytes.get(i) {
        let len = lead.leading_ones() as usize;
        if len == 0 {
            i += 1;
            continue;
        }
        if !(2..=4).contains(&len) {
            return false; // a continuation byte, or a lead of five and more
        }
        let mut code = u32::from(lead) & (0x7f >> len);
        for k in 1..len {
            match bytes.get(i + k) {
                Some(&next) if next & 0xc0 == 0x80 => code = (code << 6) | u32::from(next & 0x3f),
                _ => return false,
            }
        }
        // the least code point of each length
        let least = match len {
            2 => 0x80,
            3 => 0x800,
            _ => 0x1_0000,
        };
        if code < least || (0xd800..=0xdfff).contains(&code) || code > 0x10_ffff {
            return false;
        }
        i += len;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::str_from_utf8;
    use proptest::prelude::*;

    fn same_as_core(bytes: &[u8]) {
        assert_eq!(
            str_from_utf8(bytes),
            core::str::from_utf8(bytes).ok(),
            "{bytes:02x?}"
        );
    }

    /// Every sequence of one, two and three bytes.
    #[test]
    fn every_short_sequence_is_judged_as_core_judges_it() {
        same_as_core(&[]);
        for a in 0..=255u8 {
            same_as_core(&[a]);
            for b in 0..=255u8 {
                same_as_core(&[a, b]);
                for c in 0..=255u8 {
                    same_as_core(&[a, b, c]);
                }
            }
        }
    }

    /// Every lead byte from F0 on with every second byte, the last two
    /// bytes from the boundaries of the continuation range; and longer
    /// runs ending in each.
    #[test]
    fn four_byte_sequences_are_judged_as_core_judges_it() {
        let edges = [
            0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0xbf, 0xc0, 0xf0, 0xff,
        ];
        for a in 0xf0..=0xffu8 {
            for b in 0..=255u8 {
                for &c in &edges {
                    for &d in &edges {
                        same_as_core(&[a, b, c, d]);
                        same_as_core(&[b'x', a, b, c, d, b'y']);
                    }
                }
            }
        }
    }

    proptest! {
        /// Random bytes, and random text with one byte changed.
        #[test]
        fn random_input_is_judged_as_core_judges_it(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            text in "\\PC{0,24}",
            at in any::<usize>(),
            byte in any::<u8>(),
        ) {
            same_as_core(&bytes);
            let mut changed = text.clone().into_bytes();
            same_as_core(&changed);
            if !changed.is_empty() {
                let at = at % changed.len();
                changed[at] = byte;
                same_as_core(&changed);
            }
        }
    }
}
