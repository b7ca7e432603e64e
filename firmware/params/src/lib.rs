#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
extern crate std;

use charm_core::{crc32, display_sentence, Explain, SampleError, SampleParams, SentenceOut};

/// First four bytes of a record.
pub const MAGIC: [u8; 4] = *b"CHSP";
/// The record version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Bytes before the prime text.
pub const FIXED_LEN: usize = 28;
/// Bytes of the CRC trailer.
pub const CRC_LEN: usize = 4;
/// Characters generated when no record is present.
pub const DEFAULT_LEN: u32 = 200;
/// Temperature when no record is present.
pub const DEFAULT_TEMPERATURE: f32 = 1.0;
/// Seed when no record is present.
pub const DEFAULT_SEED: u64 = 1;

/// Sampling parameters, borrowed from the record they were parsed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params<'a> {
    /// Characters to generate after the prime text.
    pub len: u32,
    /// Softmax temperature: finite, ≥ 0; 0 means greedy.
    pub temperature: f32,
    /// Seed of the sampler's random number generator.
    pub seed: u64,
    /// Keep only the `top_k` most likely characters; 0 keeps all.
    pub top_k: u32,
    /// Text fed to the model first, and printed before the generated text.
    pub prime: &'a str,
}

impl Default for Params<'_> {
    fn default() -> Self {
        Self {
            len: DEFAULT_LEN,
            temperature: DEFAULT_TEMPERATURE,
            seed: DEFAULT_SEED,
            top_k: 0,
            prime: "",
        }
    }
}

/// Why bytes are not a usable record. Each variant is one thing a user can fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamsError {
    /// The first four bytes are neither `CHSP` nor blank.
    BadMagic,
    /// Written by a record version this build does not read.
    UnsupportedVersion {
        /// Version in the record.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// The record goes past the end of the bytes (region) holding it.
    Truncated {
        /// Bytes the record needs.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The CRC-32 trailer does not match: the record is corrupted.
    CrcMismatch {
        /// CRC stored in the record.
        stored: u32,
        /// CRC of the bytes as they are.
        computed: u32,
    },
    /// The prime text is not valid UTF-8.
    PrimeNotUtf8,
    /// The prime text is longer than the 65,535 bytes a record can hold.
    PrimeTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The temperature is negative, NaN or infinite.
    BadTemperature(f32),
}

impl Explain for ParamsError {
    fn explain(&self, out: &mut dyn SentenceOut) {
        match *self {
            ParamsError::BadMagic => out.text("it is not a parameters record (bad magic bytes)"),
            ParamsError::UnsupportedVersion { found, supported } => out.fill(
                "it has record version {}, this build reads version {}",
                &[found.into(), supported.into()],
            ),
            ParamsError::Truncated { needed, available } => out.fill(
                "it is truncated: it needs {} bytes, {} are available",
                &[needed, available],
            ),
            ParamsError::CrcMismatch { stored, computed } => out.fill(
                "it is corrupted: CRC-32 is {x}, the record says {x}",
                &[computed as usize, stored as usize],
            ),
            ParamsError::PrimeNotUtf8 => out.text("its prime text is not valid UTF-8"),
            ParamsError::PrimeTooLong { len } => out.fill(
                "its prime text has {} bytes, more than the 65535 a record holds",
                &[len],
            ),
            // charm-core's wording, which says no f32 (a device has no float formatting)
            ParamsError::BadTemperature(t) => SampleError::BadTemperature(t).explain(out),
        }
    }
}

impl core::fmt::Display for ParamsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_sentence(self, f)
    }
}

// The fields of the fixed part, little-endian. Inlined: every offset is a
// constant within FIXED_LEN, so no bounds check is left at run time.
#[inline(always)]
fn u16_at(fixed: &[u8; FIXED_LEN], at: usize) -> u16 {
    u16::from_le_bytes([fixed[at], fixed[at + 1]])
}

#[inline(always)]
fn u32_at(fixed: &[u8; FIXED_LEN], at: usize) -> u32 {
    u32::from_le_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]])
}

#[inline(always)]
fn u64_at(fixed: &[u8; FIXED_LEN], at: usize) -> u64 {
    u64::from(u32_at(fixed, at)) | u64::from(u32_at(fixed, at + 4)) << 32
}

fn check_temperature(temperature: f32) -> Result<(), ParamsError> {
    let sample = SampleParams {
        temperature,
        top_k: 0,
    };
    sample
        .validate()
        .map_err(|_| ParamsError::BadTemperature(temperature))
}

/// `true` if the region holds no record: its first four bytes are all `0xFF`
/// (erased flash) or all `0x00` (never written).
pub fn is_blank(bytes: &[u8]) -> bool {
    match bytes.get(..MAGIC.len()) {
        Some(head) => head.iter().all(|&b| b == 0xFF) || head.iter().all(|&b| b == 0),
        None => false,
    }
}

/// Parses a record at the start of `bytes` (which may go on past it).
///
/// `Ok(None)` for a blank region ([`is_blank`]); the caller then uses
/// [`Params::default`]. Never panics.
pub fn parse(bytes: &[u8]) -> Result<Option<Params<'_>>, ParamsError> {
    if is_blank(bytes) {
        return Ok(None);
    }
    let fixed = match bytes.first_chunk::<FIXED_LEN>() {
        Some(fixed) if bytes.len() >= FIXED_LEN + CRC_LEN => fixed,
        _ => {
            if bytes.len() >= MAGIC.len() && bytes[..MAGIC.len()] != MAGIC {
                return Err(ParamsError::BadMagic);
            }
            return Err(ParamsError::Truncated {
                needed: FIXED_LEN + CRC_LEN,
                available: bytes.len(),
            });
        }
    };
    if fixed[..MAGIC.len()] != MAGIC {
        return Err(ParamsError::BadMagic);
    }
    let version = u16_at(fixed, 4);
    if version != VERSION {
        return Err(ParamsError::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    let prime_len = usize::from(u16_at(fixed, 6));
    let body_len = FIXED_LEN + prime_len;
    let needed = body_len + CRC_LEN;
    let Some((body, stored)) = bytes
        .get(..needed)
        .and_then(|record| record.split_last_chunk::<CRC_LEN>())
    else {
        return Err(ParamsError::Truncated {
            needed,
            available: bytes.len(),
        });
    };
    let stored = u32::from_le_bytes(*stored);
    let computed = crc32(body);
    if stored != computed {
        return Err(ParamsError::CrcMismatch { stored, computed });
    }
    let temperature = f32::from_bits(u32_at(fixed, 12));
    check_temperature(temperature)?;
    let prime = charm_core::str_from_utf8(body.get(FIXED_LEN..).unwrap_or_default())
        .ok_or(ParamsError::PrimeNotUtf8)?;
    Ok(Some(Params {
        len: u32_at(fixed, 8),
        temperature,
        seed: u64_at(fixed, 16),
        top_k: u32_at(fixed, 24),
        prime,
    }))
}

impl Params<'_> {
    /// Bytes of the encoded record.
    pub fn encoded_len(&self) -> usize {
        FIXED_LEN + self.prime.len() + CRC_LEN
    }

    /// Writes the record to the start of `out`; returns its length.
    ///
    /// Fails if `out` is too short ([`ParamsError::Truncated`]), the prime
    /// text is too long, or the temperature is not finite and ≥ 0.
    pub fn encode_into(&self, out: &mut [u8]) -> Result<usize, ParamsError> {
        check_temperature(self.temperature)?;
        let prime_len = u16::try_from(self.prime.len()).map_err(|_| ParamsError::PrimeTooLong {
            len: self.prime.len(),
        })?;
        let len = self.encoded_len();
        let available = out.len();
        let out = out.get_mut(..len).ok_or(ParamsError::Truncated {
            needed: len,
            available,
        })?;
        let (fixed, rest) = out.split_at_mut(FIXED_LEN);
        fixed[0..4].copy_from_slice(&MAGIC);
        fixed[4..6].copy_from_slice(&VERSION.to_le_bytes());
        fixed[6..8].copy_from_slice(&prime_len.to_le_bytes());
        fixed[8..12].copy_from_slice(&self.len.to_le_bytes());
        fixed[12..16].copy_from_slice(&self.temperature.to_bits().to_le_bytes());
        fixed[16..24].copy_from_slice(&self.seed.to_le_bytes());
        fixed[24..28].copy_from_slice(&self.top_k.to_le_bytes());
        rest[..self.prime.len()].copy_from_slice(self.prime.as_bytes());
        let computed = crc32(&out[..len - CRC_LEN]);
        out[len - CRC_LEN..].copy_from_slice(&computed.to_le_bytes());
        Ok(len)
    }

    /// The encoded record (feature `std`).
    #[cfg(feature = "std")]
    pub fn to_bytes(&self) -> Result<std::vec::Vec<u8>, ParamsError> {
        let mut out = std::vec![0u8; self.encoded_len()];
        self.encode_into(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Params<'static> {
        Params {
            len: 300,
            temperature: 1.5,
            seed: 0x0123_4567_89AB_CDEF,
            top_k: 5,
            prime: "Ἀρχὴ ROMEO:",
        }
    }

    fn encoded(p: &Params<'_>) -> ([u8; 128], usize) {
        let mut buf = [0xFFu8; 128];
        let n = p.encode_into(&mut buf).unwrap();
        (buf, n)
    }

    #[test]
    fn round_trip_with_trailing_bytes() {
        let p = sample();
        let (buf, n) = encoded(&p);
        assert_eq!(n, FIXED_LEN + p.prime.len() + CRC_LEN);
        assert_eq!(parse(&buf).unwrap(), Some(p));
        assert_eq!(parse(&buf[..n]).unwrap(), Some(p));
    }

    #[test]
    fn blank_regions_hold_no_record() {
        assert_eq!(parse(&[0xFF; 4096]).unwrap(), None);
        assert_eq!(parse(&[0x00; 4096]).unwrap(), None);
        assert_eq!(Params::default().len, 200);
        assert_eq!(Params::default().prime, "");
    }

    #[test]
    fn every_bit_flip_is_refused() {
        let p = sample();
        let (buf, n) = encoded(&p);
        for byte in 0..n {
            for bit in 0..8 {
                let mut b = buf;
                b[byte] ^= 1 << bit;
                assert!(parse(&b[..n]).is_err(), "flip of bit {bit} of byte {byte}");
            }
        }
    }

    #[test]
    fn truncation_is_refused() {
        let p = sample();
        let (buf, n) = encoded(&p);
        for cut in MAGIC.len()..n {
            assert!(
                matches!(parse(&buf[..cut]), Err(ParamsError::Truncated { .. })),
                "cut at {cut}"
            );
        }
        assert_eq!(parse(b"PNG\x0d"), Err(ParamsError::BadMagic));
    }

    #[test]
    fn bad_fields_are_refused() {
        let bad = Params {
            temperature: f32::NAN,
            ..sample()
        };
        assert!(matches!(
            bad.encode_into(&mut [0; 128]),
            Err(ParamsError::BadTemperature(_))
        ));
        assert!(matches!(
            sample().encode_into(&mut [0; 16]),
            Err(ParamsError::Truncated { .. })
        ));
        // A version bump with a valid CRC is told apart from corruption.
        let (mut buf, n) = encoded(&sample());
        buf[4] = 2;
        let crc = crc32(&buf[..n - CRC_LEN]);
        buf[n - CRC_LEN..n].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            parse(&buf),
            Err(ParamsError::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        );
    }
}
