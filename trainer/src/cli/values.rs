//! Numbers given on the command line, parsed by charm rather than clap: a
//! value that is not a number of the flag's kind, or is out of the flag's
//! documented range, gets one sentence naming the flag, its range and what
//! was given (`--len -5` included: clap would take `-5` for a flag).

use crate::error::Error;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// A whole number in `range`.
pub fn whole<T>(flag: &str, raw: &str, range: RangeInclusive<T>) -> Result<T, Error>
where
    T: FromStr + PartialOrd + Display + Copy,
{
    let bad = || {
        Error::Usage(format!(
            "{flag} must be a whole number from {} to {}, not {raw:?}",
            range.start(),
            range.end()
        ))
    };
    let v: T = raw.trim().parse().map_err(|_| bad())?;
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(bad())
    }
}

/// [`whole`] of an optional value.
pub fn whole_opt<T>(
    flag: &str,
    raw: &Option<String>,
    range: RangeInclusive<T>,
) -> Result<Option<T>, Error>
where
    T: FromStr + PartialOrd + Display + Copy,
{
    raw.as_deref().map(|r| whole(flag, r, range)).transpose()
}

/// Which end of a [`Real`] range is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// `[min, max]`.
    Neither,
    /// `(min, max]`: greater than min.
    Min,
    /// `[min, max)`: below max.
    Max,
}

/// The documented range of a real-valued flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Real {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Which end is excluded.
    pub open: Open,
}

impl Real {
    /// `[min, max]`.
    pub const fn closed(min: f64, max: f64) -> Self {
        Self {
            min,
            max,
            open: Open::Neither,
        }
    }
    /// `(min, max]`.
    pub const fn above(min: f64, max: f64) -> Self {
        Self {
            min,
            max,
            open: Open::Min,
        }
    }
    /// `[min, max)`.
    pub const fn below(min: f64, max: f64) -> Self {
        Self {
            min,
            max,
            open: Open::Max,
        }
    }

    fn contains(&self, v: f64) -> bool {
        let low = match self.open {
            Open::Min => v > self.min,
            _ => v >= self.min,
        };
        let high = match self.open {
            Open::Max => v < self.max,
            _ => v <= self.max,
        };
        v.is_finite() && low && high
    }
}

impl Display for Real {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.open {
            Open::Neither => write!(f, "from {} to {}", self.min, self.max),
            Open::Min => write!(f, "greater than {} and at most {}", self.min, self.max),
            Open::Max => write!(f, "from {} to below {}", self.min, self.max),
        }
    }
}

/// A number in `range`.
pub fn real(flag: &str, raw: &str, range: Real) -> Result<f64, Error> {
    let v: f64 = raw
        .trim()
        .parse()
        .map_err(|_| Error::Usage(format!("{flag} must be a number {range}, not {raw:?}")))?;
    if range.contains(v) {
        Ok(v)
    } else {
        Err(Error::Usage(format!(
            "{flag} must be a number {range}, not {raw:?}"
        )))
    }
}

/// [`real`] of an optional value.
pub fn real_opt(flag: &str, raw: &Option<String>, range: Real) -> Result<Option<f64>, Error> {
    raw.as_deref().map(|r| real(flag, r, range)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_range_pass_and_the_rest_get_one_sentence() {
        assert_eq!(whole("--len", "5", 0u64..=10).unwrap(), 5);
        let e = whole("--len", "-5", 0u64..=10).unwrap_err().to_string();
        assert_eq!(e, r#"--len must be a whole number from 0 to 10, not "-5""#);
        assert!(whole("--len", "11", 0u64..=10).is_err());
        assert!(whole("--len", "abc", 0u64..=10).is_err());
        let r = Real::above(0.0, 10.0);
        assert_eq!(real("--lr", "0.5", r).unwrap(), 0.5);
        for bad in ["0", "-1", "NaN", "inf", "11", "x"] {
            let e = real("--lr", bad, r).unwrap_err().to_string();
            assert!(
                e.starts_with("--lr must be a number greater than 0 and at most 10, not"),
                "{e}"
            );
        }
        assert!(real("--dropout", "1", Real::below(0.0, 1.0)).is_err());
        assert_eq!(real("--dropout", "0", Real::below(0.0, 1.0)).unwrap(), 0.0);
    }
}
