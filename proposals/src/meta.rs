//! What every proposal carries besides its action: the proposing neuron, title, summary and URL.
//!
//! The real SNS governance checks title ≤ 256 bytes, summary ≤ 30,000 bytes and url ≤ 2,048
//! characters (`validate_and_render_proposal`). This tool is stricter (policy): the title must not
//! be empty, the summary must not be empty (voters need a rationale), and a URL, when given, must
//! be `http(s)://` and at most 2,048 bytes.

use platform_types::sns::{NeuronId, MAX_SUMMARY_BYTES, MAX_TITLE_BYTES, MAX_URL_BYTES};

/// Bytes of a real SNS neuron id (the neuron's subaccount).
pub const NEURON_ID_BYTES: usize = 32;

/// Title, summary and URL of a proposal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProposalText {
    pub title: String,
    pub summary: String,
    pub url: String,
}

impl ProposalText {
    pub fn validate(&self) -> Result<(), String> {
        check_title(&self.title)?;
        check_summary(&self.summary)?;
        check_url(&self.url)
    }
}

pub fn check_title(title: &str) -> Result<(), String> {
    if title.trim().is_empty() {
        return Err("--title: must not be empty".into());
    }
    if title.len() > MAX_TITLE_BYTES {
        return Err(format!(
            "--title: at most {MAX_TITLE_BYTES} bytes, got {}",
            title.len()
        ));
    }
    Ok(())
}

pub fn check_summary(summary: &str) -> Result<(), String> {
    if summary.trim().is_empty() {
        return Err("--summary: must not be empty (give --summary or --summary-file)".into());
    }
    if summary.len() > MAX_SUMMARY_BYTES {
        return Err(format!(
            "--summary: at most {MAX_SUMMARY_BYTES} bytes, got {}",
            summary.len()
        ));
    }
    Ok(())
}

/// An empty URL is allowed (the SNS allows it); otherwise `http://` or `https://`, no
/// whitespace, at most 2,048 bytes.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Ok(());
    }
    if url.len() > MAX_URL_BYTES {
        return Err(format!(
            "--url: at most {MAX_URL_BYTES} bytes, got {}",
            url.len()
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("--url: must start with https:// or http://, got {url:?}"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("--url: no host in {url:?}"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("--url: must not contain whitespace, got {url:?}"));
    }
    Ok(())
}

/// A neuron id in hex (as `quill sns neuron-id --memo M` prints it for a neuron staked with
/// `quill sns stake-neuron --memo M`, and as the NNS dapp shows it; quill has no command that
/// lists neurons: governance's `list_neurons` query does, with the id as a `blob`): 1 to 32 bytes.
/// Anything but 32 bytes gets a warning (local governance ids may be shorter).
pub fn parse_neuron(hex_id: &str, warnings: &mut Vec<String>) -> Result<NeuronId, String> {
    let hex_id = hex_id.trim();
    if hex_id.is_empty() {
        return Err("--neuron: give the proposing neuron's id in hex".into());
    }
    let n =
        NeuronId::from_hex(hex_id).map_err(|e| format!("--neuron: not a hex neuron id: {e}"))?;
    if n.id.is_empty() || n.id.len() > NEURON_ID_BYTES {
        return Err(format!(
            "--neuron: a neuron id has 1 to {NEURON_ID_BYTES} bytes, got {}",
            n.id.len()
        ));
    }
    if n.id.len() != NEURON_ID_BYTES {
        warnings.push(format!(
            "the neuron id has {} bytes; neuron ids of a real SNS have {NEURON_ID_BYTES}",
            n.id.len()
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_summaries_and_urls_are_checked() {
        let ok = ProposalText {
            title: "t".into(),
            summary: "s".into(),
            url: String::new(),
        };
        ok.validate().unwrap();
        let long = ProposalText {
            title: "x".repeat(MAX_TITLE_BYTES + 1),
            ..ok.clone()
        };
        assert!(long.validate().unwrap_err().contains("--title"));
        let max = ProposalText {
            title: "é".repeat(MAX_TITLE_BYTES / 2),
            ..ok.clone()
        };
        max.validate().unwrap();
        assert!(ProposalText {
            title: " ".into(),
            ..ok.clone()
        }
        .validate()
        .is_err());
        assert!(ProposalText {
            summary: String::new(),
            ..ok.clone()
        }
        .validate()
        .is_err());
        let summary = ProposalText {
            summary: "s".repeat(MAX_SUMMARY_BYTES + 1),
            ..ok.clone()
        };
        assert!(summary.validate().unwrap_err().contains("--summary"));
        for bad in [
            "ftp://x.org",
            "forum.dfinity.org/t/1",
            "https://",
            "https://a b",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        check_url("https://forum.dfinity.org/t/123").unwrap();
        assert!(check_url(&format!("https://x.org/{}", "a".repeat(MAX_URL_BYTES))).is_err());
    }

    #[test]
    fn neuron_ids_are_hex_of_at_most_32_bytes() {
        let mut w = Vec::new();
        assert_eq!(
            parse_neuron(&"ab".repeat(32), &mut w).unwrap().id,
            vec![0xab; 32]
        );
        assert!(w.is_empty());
        parse_neuron("0a0b", &mut w).unwrap();
        assert_eq!(w.len(), 1);
        assert!(parse_neuron("xyz", &mut w).is_err());
        assert!(parse_neuron("", &mut w).is_err());
        assert!(parse_neuron(&"00".repeat(33), &mut w).is_err());
    }
}
