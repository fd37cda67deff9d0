//! The value grammar of the `sns` CLI's friendly format (DFINITY's
//! `ic_nervous_system_humanize`), re-implemented from its documented behaviour:
//!
//! - tokens: `"<decimal> tokens"`, `"<decimal> token"` (at most 8 decimals) or
//!   `"<integer> e8s"`; `_` may appear anywhere in the number, whitespace
//!   between the number and the unit is insignificant;
//! - durations: `humantime::parse_duration` ("4d", "26 weeks", "1 year 1 second"),
//!   truncated to whole seconds; whole numbers only (see [`parse_duration`]);
//! - percentages: `"<decimal>%"` with at most 2 decimals, as basis points;
//! - time of day: exactly `"hh:mm UTC"`.

use serde::Deserialize;
use std::str::FromStr;

pub const E8: u64 = 100_000_000;
pub const ONE_DAY_SECONDS: u64 = 24 * 60 * 60;
/// humantime's (and the IC's) year: 365.25 days.
pub const ONE_YEAR_SECONDS: u64 = (4 * 365 + 1) * ONE_DAY_SECONDS / 4;

/// Parses `"<number> tokens"`, `"<number> token"` or `"<integer> e8s"` into e8s.
pub fn parse_tokens(s: &str) -> Result<u64, String> {
    if let Some(n) = s.strip_suffix("tokens") {
        parse_fixed_point_decimal(n.trim(), 8)
    } else if let Some(n) = s.strip_suffix("token") {
        parse_fixed_point_decimal(n.trim(), 8)
    } else if let Some(n) = s.strip_suffix("e8s") {
        u64::from_str(&n.trim().replace('_', "")).map_err(|e| format!("{e}: {s:?}"))
    } else {
        Err(format!(
            "Invalid tokens input string: {s:?} (expected \"N tokens\", \"N token\" or \"N e8s\")"
        ))
    }
}

/// Parses a humantime duration ("4d", "1 year 1 second") into whole seconds.
///
/// Fractional numbers ("1.5 years") are rejected: recent humantime releases
/// accept them, older 2.x releases (and so possibly the `sns` CLI) do not.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    if s.contains('.') {
        return Err(format!(
            "fractional durations are not portable across humantime versions: {s:?}"
        ));
    }
    humantime::parse_duration(s)
        .map(|d| d.as_secs())
        .map_err(|e| format!("{e}: {s:?}"))
}

/// Parses `"<number>%"` (at most 2 decimals) into basis points.
pub fn parse_percentage(s: &str) -> Result<u64, String> {
    let number = s
        .strip_suffix('%')
        .ok_or_else(|| format!("Input string must end with a percent sign: {s:?}"))?;
    parse_fixed_point_decimal(number, 2)
}

/// Parses exactly `"hh:mm UTC"` into seconds after UTC midnight.
pub fn parse_time_of_day(s: &str) -> Result<u64, String> {
    let error = || format!("Unable to parse time of day {s:?}. Format should be \"hh:mm UTC\"");
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [hh_mm, "UTC"] = parts[..] else {
        return Err(error());
    };
    let parts: Vec<&str> = hh_mm.split(':').collect();
    let [hh, mm] = parts[..] else {
        return Err(error());
    };
    if hh.len() != 2 || mm.len() != 2 {
        return Err(error());
    }
    let (Ok(hh), Ok(mm)) = (u64::from_str(hh), u64::from_str(mm)) else {
        return Err(error());
    };
    if hh >= 24 || mm >= 60 {
        return Err(error());
    }
    Ok(hh * 3600 + mm * 60)
}

/// `^[0-9_]+([.][0-9_]+)?$`, the decimal point shifted right by `decimal_places`.
/// More fractional digits than `decimal_places` is an error.
fn parse_fixed_point_decimal(s: &str, decimal_places: usize) -> Result<u64, String> {
    let is_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let (whole, fractional) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    if !is_digits(whole) || !fractional.is_none_or(is_digits) {
        return Err(format!("Not a number: {s:?}"));
    }
    let whole = u64::from_str(&whole.replace('_', "")).map_err(|e| format!("{e}: {s:?}"))?;
    let fractional = format!("{:0<decimal_places$}", fractional.unwrap_or("0").replace('_', ""));
    if fractional.len() > decimal_places {
        return Err(format!("Too many digits after the decimal place: {s:?}"));
    }
    let fractional = u64::from_str(&fractional).map_err(|e| format!("{e}: {s:?}"))?;
    10_u64
        .checked_pow(decimal_places as u32)
        .and_then(|boost| whole.checked_mul(boost))
        .and_then(|shifted| shifted.checked_add(fractional))
        .ok_or_else(|| format!("Too large: {s:?}"))
}

/// An amount of tokens, written like `"10_000 e8s"` or `"14.9 tokens"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Tokens {
    pub e8s: u64,
}

/// A duration, written like `"4d"` or `"1 year 1 second"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Duration {
    pub seconds: u64,
}

/// A percentage, written like `"25%"` or `"2.25%"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Percentage {
    pub basis_points: u64,
}

/// A time of day, written like `"12:00 UTC"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TimeOfDay {
    pub seconds_after_utc_midnight: u64,
}

impl TryFrom<String> for Tokens {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        parse_tokens(&s).map(|e8s| Tokens { e8s })
    }
}

impl TryFrom<String> for Duration {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        parse_duration(&s).map(|seconds| Duration { seconds })
    }
}

impl TryFrom<String> for Percentage {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        parse_percentage(&s).map(|basis_points| Percentage { basis_points })
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        parse_time_of_day(&s).map(|seconds_after_utc_midnight| TimeOfDay {
            seconds_after_utc_midnight,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(parse_tokens("1e8s"), Ok(1));
        assert_eq!(parse_tokens("10_000 e8s"), Ok(10_000));
        assert_eq!(parse_tokens("_123_456_789_e8s"), Ok(123_456_789));
        assert_eq!(parse_tokens("1 token"), Ok(E8));
        assert_eq!(parse_tokens("14.9 tokens"), Ok(1_490_000_000));
        assert_eq!(parse_tokens("129.9 tokens"), Ok(12_990_000_000));
        assert_eq!(parse_tokens("1_.23_4_tokens"), Ok(123_400_000));
        assert_eq!(parse_tokens("0.00000001 tokens"), Ok(1));
        assert_eq!(parse_tokens("1_000_000_000 tokens"), Ok(1_000_000_000 * E8));
        // Errors: too many decimals, unknown unit, dot not surrounded by digits,
        // decimals on e8s, overflow, no number.
        for bad in [
            "0.000000001 tokens",
            "5 ICP",
            "5",
            ".5 tokens",
            "5. tokens",
            "1.5 e8s",
            "200_000_000_000 tokens",
            " tokens",
            "-1 tokens",
        ] {
            assert!(parse_tokens(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("4d"), Ok(4 * ONE_DAY_SECONDS));
        assert_eq!(parse_duration("1 day"), Ok(ONE_DAY_SECONDS));
        assert_eq!(parse_duration("26 weeks"), Ok(26 * 7 * ONE_DAY_SECONDS));
        assert_eq!(parse_duration("1 year 1 second"), Ok(ONE_YEAR_SECONDS + 1));
        assert_eq!(parse_duration("1 years"), Ok(ONE_YEAR_SECONDS));
        assert_eq!(parse_duration("8 years"), Ok(8 * ONE_YEAR_SECONDS));
        assert_eq!(parse_duration("1 month"), Ok(2_630_016)); // 30.44 days
        assert_eq!(parse_duration("1w 2d 3h"), Ok(9 * ONE_DAY_SECONDS + 3 * 3600));
        for bad in ["", "4", "four days", "1.5 years", "-1d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn percentages() {
        for (s, bp) in [
            ("0%", 0),
            ("1%", 100),
            ("1.0%", 100),
            ("1.23%", 123),
            ("0.07%", 7),
            ("2.25%", 225),
            ("100%", 10_000),
        ] {
            assert_eq!(parse_percentage(s), Ok(bp), "{s}");
        }
        for bad in ["0.%", ".1%", "0.009%", "1.0", "25 %", "%"] {
            assert!(parse_percentage(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn time_of_day() {
        assert_eq!(parse_time_of_day("00:00 UTC"), Ok(0));
        assert_eq!(parse_time_of_day("00:01 UTC"), Ok(60));
        assert_eq!(parse_time_of_day("12:00 UTC"), Ok(43_200));
        assert_eq!(parse_time_of_day("20:30 UTC"), Ok(73_800));
        for bad in [
            "12:00",
            "1:00 UTC",
            "12:00 CET",
            "24:00 UTC",
            "12:60 UTC",
            "12:00:00 UTC",
            "noon UTC",
        ] {
            assert!(parse_time_of_day(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
