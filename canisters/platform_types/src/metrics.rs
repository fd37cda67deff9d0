//! What every platform canister's `/metrics` has in common (the Prometheus text format, written
//! with `ic-metrics-encoder`): the canister's runtime figures, its build, and its errors by kind;
//! and a strict parser of that format for the tests.

use ic_metrics_encoder::MetricsEncoder;
use std::collections::BTreeMap;
use std::io;

/// What only the running canister can read (cycles, memory), passed in so the encoding is
/// plain Rust.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CanisterRuntime {
    pub cycles_balance: u128,
    pub heap_memory_bytes: u64,
    pub stable_memory_bytes: u64,
    /// `ic_cdk::api::time()` of the scrape, in nanoseconds.
    pub now_ns: u64,
}

/// The build a canister runs (`get_version`'s facts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildLabels<'a> {
    pub canister: &'a str,
    pub version: &'a str,
    pub git_commit: &'a str,
}

/// An encoder whose timestamps are the scrape's time (milliseconds).
pub fn encoder(now_ns: u64) -> MetricsEncoder<Vec<u8>> {
    MetricsEncoder::new(Vec::new(), (now_ns / 1_000_000) as i64)
}

/// Cycles, memory and the build: the first lines of every canister's `/metrics`.
pub fn encode_runtime<W: io::Write>(w: &mut MetricsEncoder<W>, r: &CanisterRuntime, build: &BuildLabels) -> io::Result<()> {
    w.encode_gauge("canister_cycles_balance", r.cycles_balance as f64, "The canister's cycles balance.")?;
    w.encode_gauge("canister_heap_memory_bytes", r.heap_memory_bytes as f64, "Size of the Wasm heap memory, in bytes.")?;
    w.encode_gauge("canister_stable_memory_bytes", r.stable_memory_bytes as f64, "Size of the stable memory, in bytes.")?;
    w.gauge_vec("canister_build_info", "The build running: always 1, the facts are labels (see get_version).")?.value(
        &[("canister", build.canister), ("version", build.version), ("git_commit", build.git_commit)],
        1.0,
    )?;
    Ok(())
}

/// Errors by kind since the last install or upgrade (counters kept on the heap: Prometheus
/// counters reset on a restart, which `rate()` handles). Kinds are fixed names from the code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts(BTreeMap<&'static str, u64>);

impl ErrorCounts {
    pub fn count(&mut self, kind: &'static str) {
        let n = self.0.entry(kind).or_insert(0);
        *n = n.saturating_add(1);
    }

    pub fn get(&self, kind: &str) -> u64 {
        self.0.get(kind).copied().unwrap_or(0)
    }

    /// `<prefix>_errors_total{kind}` for every kind in `kinds` (0 for those not seen yet, so a
    /// monitor's alert rule finds the series before the first error) and any other seen.
    pub fn encode<W: io::Write>(&self, w: &mut MetricsEncoder<W>, prefix: &str, kinds: &[&'static str]) -> io::Result<()> {
        let mut all: BTreeMap<&str, u64> = kinds.iter().map(|k| (*k, 0)).collect();
        all.extend(self.0.iter().map(|(k, v)| (*k, *v)));
        let name = format!("{prefix}_errors_total");
        let mut vec = w.counter_vec(&name, "Errors since the last install or upgrade, by kind.")?;
        for (kind, n) in all {
            vec = vec.value(&[("kind", kind)], n as f64)?;
        }
        Ok(())
    }
}

/// `<prefix>_job_firings_total{job,outcome}`: each periodic job's timer firings since the last
/// install or upgrade, as `(job, (started, skipped))` (see the `periodic_jobs` crate).
pub fn encode_job_firings<W: io::Write>(
    w: &mut MetricsEncoder<W>,
    prefix: &str,
    jobs: &[(&str, (u64, u64))],
) -> io::Result<()> {
    let name = format!("{prefix}_job_firings_total");
    let mut vec = w.counter_vec(
        &name,
        "Timer firings of each periodic job since the last upgrade: started, or skipped (a run under way, or a catch-up after a pause).",
    )?;
    for (job, (started, skipped)) in jobs {
        vec = vec.value(&[("job", job), ("outcome", "started")], *started as f64)?;
        vec = vec.value(&[("job", job), ("outcome", "skipped")], *skipped as f64)?;
    }
    Ok(())
}

/// One sample of a parsed exposition: the metric name and its labels, sorted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Series {
    pub name: String,
    pub labels: Vec<(String, String)>,
}

/// Parses the Prometheus text format as `ic-metrics-encoder` writes it, strictly: every sample's
/// metric has `# HELP` and `# TYPE` lines before it (gauge, counter or histogram), label values
/// are quoted, values are numbers, and no series appears twice.
pub fn parse_exposition(text: &str) -> Result<BTreeMap<Series, f64>, String> {
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped: Vec<String> = Vec::new();
    let mut samples = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let at = |m: &str| format!("line {}: {m}: {line:?}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.push(rest.split(' ').next().unwrap_or("").to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if !["gauge", "counter", "histogram"].contains(&kind) {
                return Err(at("unknown metric type"));
            }
            if !helped.iter().any(|h| h == name) {
                return Err(at("TYPE without HELP"));
            }
            typed.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') {
            return Err(at("unknown comment"));
        }
        let (series, value) = match line.find('{') {
            Some(open) => {
                let close = line.rfind('}').ok_or_else(|| at("unclosed labels"))?;
                let labels = parse_labels(&line[open + 1..close]).map_err(|e| at(&e))?;
                (Series { name: line[..open].to_string(), labels }, line[close + 1..].trim())
            }
            None => {
                let (name, value) = line.split_once(' ').ok_or_else(|| at("no value"))?;
                (Series { name: name.to_string(), labels: vec![] }, value.trim())
            }
        };
        // A sample may carry a timestamp after the value.
        let value = value.split(' ').next().unwrap_or("");
        let value: f64 = value.parse().map_err(|_| at("the value is not a number"))?;
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| series.name.strip_suffix(s).filter(|b| typed.get(*b).is_some_and(|t| t == "histogram")))
            .unwrap_or(&series.name);
        if !typed.contains_key(base) || !series.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(at("a sample of an undeclared or misnamed metric"));
        }
        if samples.insert(series, value).is_some() {
            return Err(at("the series appears twice"));
        }
    }
    Ok(samples)
}

fn parse_labels(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut labels = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").ok_or("a label without =\"")?;
        let end = after.find('"').ok_or("an unquoted label value")?;
        labels.push((name.trim().to_string(), after[..end].to_string()));
        rest = after[end + 1..].trim_start_matches(',').trim();
    }
    labels.sort();
    Ok(labels)
}

/// The value of `name{labels}` in a parsed exposition.
pub fn sample(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut labels: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    labels.sort();
    samples.get(&Series { name: name.to_string(), labels }).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_build_and_errors_encode_and_parse_back() {
        let mut w = encoder(5_000_000_000);
        let runtime = CanisterRuntime { cycles_balance: 7_000_000_000_000, heap_memory_bytes: 65_536, stable_memory_bytes: 0, now_ns: 5_000_000_000 };
        let build = BuildLabels { canister: "staking_hub", version: "0.1.0", git_commit: "abc1234" };
        encode_runtime(&mut w, &runtime, &build).unwrap();
        let mut errors = ErrorCounts::default();
        errors.count("mint_failed");
        errors.count("mint_failed");
        errors.count("other");
        errors.encode(&mut w, "hub", &["mint_failed", "rollout_failed"]).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        let s = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(sample(&s, "canister_cycles_balance", &[]), Some(7e12));
        assert_eq!(sample(&s, "canister_heap_memory_bytes", &[]), Some(65_536.0));
        let labels = [("canister", "staking_hub"), ("git_commit", "abc1234"), ("version", "0.1.0")];
        assert_eq!(sample(&s, "canister_build_info", &labels), Some(1.0));
        assert_eq!(sample(&s, "hub_errors_total", &[("kind", "mint_failed")]), Some(2.0));
        assert_eq!(sample(&s, "hub_errors_total", &[("kind", "rollout_failed")]), Some(0.0), "declared kinds start at 0");
        assert_eq!(sample(&s, "hub_errors_total", &[("kind", "other")]), Some(1.0));
        assert_eq!(s.len(), 7);
    }

    #[test]
    fn the_parser_refuses_what_is_not_the_text_format() {
        assert!(parse_exposition("# HELP a x\n# TYPE a gauge\na 1 5\n").is_ok());
        for bad in [
            "a 1\n",                                    // undeclared
            "# TYPE a gauge\na 1\n",                    // no HELP
            "# HELP a x\n# TYPE a summary\na 1\n",      // unknown type
            "# HELP a x\n# TYPE a gauge\na one\n",      // not a number
            "# HELP a x\n# TYPE a gauge\na{k=v} 1\n",   // unquoted label
            "# HELP a x\n# TYPE a gauge\na 1\na 2\n",   // twice
            "# HELP a x\n# TYPE a gauge\na-b 1\n",      // misnamed
        ] {
            assert!(parse_exposition(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
