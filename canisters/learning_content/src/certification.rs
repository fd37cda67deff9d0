//! HTTP response certification (v2, `ic-http-certification`) of everything `http_request`
//! serves, so the IC's HTTP gateways verify each response against the canister's certified data.
//!
//! The tree (on the heap; its root hash is the certified data) holds response-only
//! certifications (see [`http::cel`]), at exact paths:
//! * `/subjects`, each `/units/<id>` and each page `/subjects/<subject>/units/<n>`: the 200, the
//!   304 (the same ETag, no body) and the 405;
//! * `/units`: its 404 (the listing moved) and the 405;
//! * [`http::METRICS_PATH`] when the canister serves it: a skip certification (gateways pass
//!   whatever is served there on unverified);
//!
//! and at the wildcard `/`: the 404 and the 405 of every other path.
//!
//! Bodies are not kept: a query builds its response again from the state and certifies it with
//! a witness of its entry, so a response the tree does not hold cannot verify. The page layout
//! (which units each page holds) is kept, because a page's boundaries depend on its units' sizes.
//!
//! Updates are proportional to the change: a unit's entries are replaced, `/subjects` is
//! rebuilt, and a subject's pages are rebuilt from the first page that can differ (the page of
//! the first added, updated or removed id) to its end; earlier pages keep their entries. A full
//! [`Certified::build`] (init, post_upgrade) reads and hashes every unit once.

use std::collections::{BTreeMap, BTreeSet};

use ic_http_certification::utils::add_v2_certificate_header;
use ic_http_certification::{
    response_hash, DefaultCelBuilder, HttpCertification, HttpCertificationPath,
    HttpCertificationTree, HttpCertificationTreeEntry, HttpResponse as CertResponse,
    CERTIFICATE_EXPRESSION_HEADER_NAME,
};

use ic_certification::HashTree;

use crate::http::{self, ContentSource, HttpRequest, HttpResponse, Route};

/// What answers a request.
pub enum Answer {
    /// A certified response, at `tree_path` (exact, or the wildcard `/`) of the tree.
    Certified {
        response: CertResponse<'static>,
        tree_path: HttpCertificationPath<'static>,
        /// The decoded request path (the witness of a wildcard proves no exact entry for it).
        request_path: String,
    },
    /// [`http::METRICS_PATH`]: answered elsewhere, certification skipped.
    Skipped,
}

/// The certification tree of the responses and the page layout it was built from.
#[derive(Default)]
pub struct Certified {
    tree: HttpCertificationTree,
    /// For every subject with pages: the unit ids of each page, in order.
    pages: BTreeMap<String, Vec<Vec<String>>>,
    /// Whether [`http::METRICS_PATH`] is served (with certification skipped).
    metrics: bool,
}

/// The certification of a response (every response carries [`http::cel`]'s header).
fn certification(response: &CertResponse) -> HttpCertification {
    HttpCertification::response_only_prehashed(
        http::cel_text().1,
        response_hash(response, &http::cel().response, None),
    )
}

fn insert(tree: &mut HttpCertificationTree, path: &HttpCertificationPath, response: &CertResponse) {
    tree.insert(&HttpCertificationTreeEntry::new(
        path,
        certification(response),
    ));
}

/// Certifies a resource's 200, 304 and 405 at its exact path.
fn insert_resource(tree: &mut HttpCertificationTree, path: &str, body: Vec<u8>) {
    let path = HttpCertificationPath::exact(path);
    insert(tree, &path, &http::not_modified(&body));
    insert(tree, &path, &http::ok_json(body));
    insert(tree, &path, &http::method_not_allowed());
}

fn remove(tree: &mut HttpCertificationTree, path: &str) {
    tree.delete_by_path(&HttpCertificationPath::exact(path));
}

/// Where a subject's pages must be rebuilt from, given its `old` pages and its ids now: the
/// page (and its first position) holding the first position where the id lists differ or a
/// `changed` unit sits. Pages before it hold the same units with the same content, so the same
/// greedy boundaries; re-paging starts no later than the old last page (whose `next` changes
/// when pages are appended) and, when the subject now ends with the kept pages, at the last of
/// them (whose `next` becomes null).
fn first_changed_page(
    old: &[Vec<String>],
    new_ids: &[String],
    changed: &BTreeSet<String>,
) -> (usize, usize) {
    if new_ids.is_empty() {
        return (0, 0);
    }
    let old_len: usize = old.iter().map(Vec::len).sum();
    let diverge = old
        .iter()
        .flatten()
        .zip(new_ids)
        .position(|(a, b)| a != b || changed.contains(b))
        .unwrap_or(old_len.min(new_ids.len()));
    let (mut first_page, mut start) = (0, 0);
    for (k, page) in old.iter().enumerate() {
        if start + page.len() > diverge || k + 1 == old.len() {
            break;
        }
        first_page = k + 1;
        start += page.len();
    }
    if start >= new_ids.len() && first_page > 0 {
        first_page -= 1;
        start -= old[first_page].len();
    }
    (first_page, start)
}

impl Certified {
    /// Certifies every response the content has, from scratch. `metrics`: whether
    /// [`http::METRICS_PATH`] is served (with certification skipped).
    pub fn build(content: &impl ContentSource, metrics: bool) -> Self {
        let mut c = Certified {
            metrics,
            ..Certified::default()
        };
        let wildcard = HttpCertificationPath::wildcard("/");
        insert(&mut c.tree, &wildcard, &http::not_found());
        insert(&mut c.tree, &wildcard, &http::method_not_allowed());
        let index = HttpCertificationPath::exact("/units");
        insert(&mut c.tree, &index, &http::units_index());
        insert(&mut c.tree, &index, &http::method_not_allowed());
        if metrics {
            c.tree.insert(&HttpCertificationTreeEntry::new(
                HttpCertificationPath::exact(http::METRICS_PATH),
                HttpCertification::skip(),
            ));
        }
        let subjects = content.subjects();
        insert_resource(&mut c.tree, "/subjects", http::subjects_json(&subjects));
        for subject in &subjects {
            let ids = content.subject_unit_ids(subject);
            // Every unit is in exactly one subject: this certifies `/units/<id>` of all of them.
            c.repage(content, subject, &ids, 0, None);
        }
        c
    }

    /// The certified data: the tree's root hash.
    pub fn root_hash(&self) -> [u8; 32] {
        self.tree.root_hash()
    }

    /// Brings the certification up to date after `changed` units were added, updated or
    /// retired; `subjects` are the subjects they were in before or are in now.
    pub fn update(
        &mut self,
        content: &impl ContentSource,
        changed: &BTreeSet<String>,
        subjects: &BTreeSet<String>,
    ) {
        remove(&mut self.tree, "/subjects");
        insert_resource(
            &mut self.tree,
            "/subjects",
            http::subjects_json(&content.subjects()),
        );
        for id in changed {
            // Retired units lose their entries; the others get theirs again when their subject
            // is re-paged below.
            remove(&mut self.tree, &http::unit_tree_path(id));
        }
        // First every entry that goes (so that a unit moved between subjects is not removed
        // after its new subject certified it), then the new ones.
        let mut repage = Vec::new();
        for subject in subjects {
            let old: Vec<Vec<String>> = self.pages.remove(subject).unwrap_or_default();
            let new_ids = content.subject_unit_ids(subject);
            let (first_page, start) = first_changed_page(&old, &new_ids, changed);
            for (k, page) in old.iter().enumerate().skip(first_page) {
                remove(&mut self.tree, &http::page_tree_path(subject, k));
                // The units of the pages re-paged are certified again below (or are gone).
                for id in page {
                    remove(&mut self.tree, &http::unit_tree_path(id));
                }
            }
            let kept: Vec<Vec<String>> = old.into_iter().take(first_page).collect();
            repage.push((subject, new_ids, start, kept));
        }
        for (subject, new_ids, start, kept) in repage {
            if !new_ids.is_empty() {
                self.repage(content, subject, &new_ids, start, Some(kept));
            }
        }
    }

    /// Certifies the pages of `subject` from position `start` of its `ids` on (and the units
    /// there), after the `kept` pages (which end at `start`).
    fn repage(
        &mut self,
        content: &impl ContentSource,
        subject: &str,
        ids: &[String],
        start: usize,
        kept: Option<Vec<Vec<String>>>,
    ) {
        let mut pages = kept.unwrap_or_default();
        let first_page = pages.len();
        let rest = &ids[start..];
        let jsons: Vec<Vec<u8>> = rest
            .iter()
            .map(|id| {
                let unit = content
                    .unit(id)
                    .unwrap_or_else(|| panic!("the subject index names a missing unit {id:?}"));
                http::unit_json(&unit)
            })
            .collect();
        let lengths = http::page_lengths(jsons.iter().map(Vec::len));
        let has_pages = http::subject_has_pages(subject);
        let mut offset = 0;
        for (i, n) in lengths.iter().enumerate() {
            let k = first_page + i;
            if has_pages {
                let next = (i + 1 < lengths.len()).then(|| http::page_url(subject, k + 1));
                let units: Vec<&[u8]> = jsons[offset..offset + n]
                    .iter()
                    .map(Vec::as_slice)
                    .collect();
                let body = http::page_json(subject, k, next.as_deref(), &units);
                insert_resource(&mut self.tree, &http::page_tree_path(subject, k), body);
            }
            pages.push(rest[offset..offset + n].to_vec());
            offset += n;
        }
        for (id, json) in rest.iter().zip(jsons) {
            insert_resource(&mut self.tree, &http::unit_tree_path(id), json);
        }
        if has_pages {
            self.pages.insert(subject.to_string(), pages);
        }
    }

    /// Page `page` of `subject` as certified (None: no such page).
    fn page_body(
        &self,
        content: &impl ContentSource,
        subject: &str,
        page: usize,
    ) -> Option<Vec<u8>> {
        let pages = self.pages.get(subject)?;
        let ids = pages.get(page)?;
        let jsons: Vec<Vec<u8>> = ids
            .iter()
            .map(|id| http::unit_json(&content.unit(id).expect("a paged unit exists")))
            .collect();
        let next = (page + 1 < pages.len()).then(|| http::page_url(subject, page + 1));
        let units: Vec<&[u8]> = jsons.iter().map(Vec::as_slice).collect();
        Some(http::page_json(subject, page, next.as_deref(), &units))
    }

    /// The response to a request and where it is certified (before any certificate header).
    pub fn answer(&self, content: &impl ContentSource, req: &HttpRequest) -> Answer {
        let path = http::decoded_path(&req.url);
        let route = path.as_deref().map_or(Route::NotFound, http::route);
        let get = req.method.eq_ignore_ascii_case("GET");
        let body = match &route {
            Route::Metrics if self.metrics => return Answer::Skipped,
            Route::Subjects => Some(http::subjects_json(&content.subjects())),
            Route::Unit(id) => content.unit(id).map(|u| http::unit_json(&u)),
            Route::Page { subject, page } => self.page_body(content, subject, *page),
            _ => None,
        };
        // The path as the gateway splits it; a path that does not decode cannot verify anyway.
        let request_path = path.unwrap_or_else(|| req.url.clone());
        let exact = body.is_some() || route == Route::UnitsIndex;
        let response = match body {
            _ if !get => http::method_not_allowed(),
            Some(body) => http::ok_or_not_modified(req, body),
            None if route == Route::UnitsIndex => http::units_index(),
            None => http::not_found(),
        };
        let tree_path = if exact {
            HttpCertificationPath::exact(request_path.clone())
        } else {
            HttpCertificationPath::wildcard("/")
        };
        Answer::Certified {
            response,
            tree_path,
            request_path,
        }
    }

    /// Answers a request: the response and, when `certificate` (the query's data certificate)
    /// is given, its `IC-Certificate` header with the witness of its entry. `metrics` answers
    /// [`http::METRICS_PATH`] when the canister serves it.
    pub fn serve(
        &self,
        content: &impl ContentSource,
        req: &HttpRequest,
        certificate: Option<&[u8]>,
        metrics: impl FnOnce(&HttpRequest) -> HttpResponse,
    ) -> HttpResponse {
        match self.answer(content, req) {
            Answer::Skipped => self.skipped(metrics(req), certificate),
            Answer::Certified {
                mut response,
                tree_path,
                request_path,
            } => {
                if let Some(certificate) = certificate {
                    // A witness for the path a response is served at cannot fail; if it did,
                    // the response would go out without one and gateways would refuse it.
                    if let Ok(witness) = self.witness(&response, &tree_path, &request_path) {
                        add_v2_certificate_header(
                            certificate,
                            &mut response,
                            &witness,
                            &tree_path.to_expr_path(),
                        );
                    }
                }
                crate::http::from_cert(response)
            }
        }
    }

    /// The witness of a response's entry: a pruned tree that proves the entry, or its absence.
    pub fn witness(
        &self,
        response: &CertResponse,
        tree_path: &HttpCertificationPath,
        request_path: &str,
    ) -> Result<HashTree, String> {
        let entry = HttpCertificationTreeEntry::new(tree_path, certification(response));
        self.tree
            .witness(&entry, request_path)
            .map_err(|e| e.to_string())
    }

    /// A response served with certification skipped (its headers name the skip expression).
    fn skipped(&self, response: HttpResponse, certificate: Option<&[u8]>) -> HttpResponse {
        let mut out = CertResponse::builder()
            .with_status_code(
                ic_http_certification::StatusCode::from_u16(response.status_code)
                    .unwrap_or(ic_http_certification::StatusCode::INTERNAL_SERVER_ERROR),
            )
            .with_headers(
                response
                    .headers
                    .into_iter()
                    .filter(|(n, _)| !n.eq_ignore_ascii_case(CERTIFICATE_EXPRESSION_HEADER_NAME))
                    .chain([(
                        CERTIFICATE_EXPRESSION_HEADER_NAME.to_string(),
                        DefaultCelBuilder::skip_certification().to_string(),
                    )])
                    .collect(),
            )
            .with_body(response.body.into_vec())
            .build();
        let Some(certificate) = certificate else {
            return crate::http::from_cert(out);
        };
        let path = HttpCertificationPath::exact(http::METRICS_PATH);
        let entry = HttpCertificationTreeEntry::new(&path, HttpCertification::skip());
        if let Ok(witness) = self.tree.witness(&entry, http::METRICS_PATH) {
            add_v2_certificate_header(certificate, &mut out, &witness, &path.to_expr_path());
        }
        crate::http::from_cert(out)
    }

    #[cfg(test)]
    pub fn pages_of(&self, subject: &str) -> Option<&Vec<Vec<String>>> {
        self.pages.get(subject)
    }
}

/// The canister's certification: on the heap, rebuilt by init and post_upgrade, updated by
/// every content change; its root hash is the canister's certified data.
mod canister {
    use super::*;
    use crate::state;
    use std::cell::RefCell;

    thread_local! {
        static CERTIFIED: RefCell<Certified> = RefCell::new(Certified::default());
    }

    pub fn with<R>(f: impl FnOnce(&Certified) -> R) -> R {
        CERTIFIED.with_borrow(f)
    }

    fn set_certified_data() {
        // Native unit tests run the lifecycle hooks without a system API to call.
        if cfg!(target_family = "wasm") {
            CERTIFIED.with_borrow(|c| ic_cdk::api::certified_data_set(c.root_hash()));
        }
    }

    /// Certifies the whole content (init, post_upgrade).
    pub fn certify_all() {
        let certified = state::with(|s| Certified::build(s, http::SERVES_METRICS));
        CERTIFIED.with_borrow_mut(|c| *c = certified);
        set_certified_data();
    }

    /// Runs `change`, a content change that touches (at most) the units `ids`, then certifies
    /// its outcome. If `change` traps, the message is rolled back with the tree.
    pub fn changing_units<R>(ids: BTreeSet<String>, change: impl FnOnce() -> R) -> R {
        let subjects_of = |ids: &BTreeSet<String>| {
            state::with(|s| {
                ids.iter()
                    .filter_map(|id| s.unit(id).map(|u| u.subject))
                    .collect::<BTreeSet<String>>()
            })
        };
        let mut subjects = subjects_of(&ids);
        let result = change();
        subjects.extend(subjects_of(&ids));
        CERTIFIED.with_borrow_mut(|c| state::with(|s| c.update(s, &ids, &subjects)));
        set_certified_data();
        result
    }
}

pub use canister::{certify_all, changing_units, with};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::PAGE_SIZE;
    use crate::model::tests::input;
    use crate::state::Store;
    use candid::Principal;
    use ic_certification::LookupResult;
    use ic_http_certification::HttpCertificationPath;
    use ic_stable_structures::memory_manager::MemoryManager;
    use ic_stable_structures::DefaultMemoryImpl;
    use platform_types::{ContentInitArgs, Unit, UnitInput};
    use serde_bytes::ByteBuf;
    use sha2::{Digest, Sha256};
    use std::cell::Cell;

    fn store(units: Vec<UnitInput>) -> Store<DefaultMemoryImpl> {
        let mut s = Store::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        s.initialize(ContentInitArgs {
            hub_id: Principal::from_slice(&[1; 10]),
            sns_governance_id: Principal::from_slice(&[2; 10]),
            units,
            pass_mark_percent: None,
        });
        s
    }

    fn units(prefix: &str, subject: &str, n: usize) -> Vec<UnitInput> {
        (0..n)
            .map(|i| input(&format!("{prefix}{i:04}"), subject, &[2, 3]))
            .collect()
    }

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
            body: ByteBuf::new(),
            certificate_version: Some(2),
        }
    }

    /// Whether the tree certifies what `req` is answered with, as a verifier checks it: the
    /// witness has the tree's root hash and holds the response's entry at the answer's path.
    fn certifies(c: &Certified, s: &impl ContentSource, req: &HttpRequest) -> bool {
        let Answer::Certified {
            response,
            tree_path,
            request_path,
        } = c.answer(s, req)
        else {
            panic!("{} is not certified", req.url)
        };
        entry_is_proven(c, &response, &tree_path, &request_path)
    }

    fn entry_is_proven(
        c: &Certified,
        response: &CertResponse,
        tree_path: &HttpCertificationPath,
        request_path: &str,
    ) -> bool {
        let witness = c.witness(response, tree_path, request_path).unwrap();
        assert_eq!(witness.digest(), c.root_hash(), "a witness of this tree");
        let mut path: Vec<Vec<u8>> = tree_path
            .to_expr_path()
            .into_iter()
            .map(String::into_bytes)
            .collect();
        path.push(Sha256::digest(http::cel().to_string()).to_vec());
        path.push(vec![]);
        path.push(response_hash(response, &http::cel().response, None).to_vec());
        matches!(witness.lookup_path(&path), LookupResult::Found(_))
    }

    fn all_urls(c: &Certified, s: &impl ContentSource) -> Vec<String> {
        let mut urls = vec!["/subjects".to_string(), "/units".into(), "/nope".into()];
        for subject in s.subjects() {
            for id in s.subject_unit_ids(&subject) {
                urls.push(format!("/units/{id}"));
            }
            let pages = c.pages_of(&subject).map_or(0, Vec::len);
            for k in 0..=pages {
                urls.push(http::page_url(&subject, k));
            }
        }
        urls
    }

    /// Every route, method, 304 and 404 of the content is certified.
    fn assert_all_certified(c: &Certified, s: &impl ContentSource) {
        for url in all_urls(c, s) {
            assert!(certifies(c, s, &get(&url)), "GET {url}");
            let post = HttpRequest {
                method: "POST".into(),
                ..get(&url)
            };
            assert!(certifies(c, s, &post), "POST {url}");
            let Answer::Certified { response, .. } = c.answer(s, &get(&url)) else {
                unreachable!()
            };
            if let Some((_, tag)) = response.headers().iter().find(|(n, _)| n == "ETag") {
                let cached = HttpRequest {
                    headers: vec![("If-None-Match".into(), tag.clone())],
                    ..get(&url)
                };
                assert!(certifies(c, s, &cached), "304 {url}");
            }
        }
    }

    /// Every entry of the tree (its root hash also depends on the shape insertions gave it).
    fn entries(c: &Certified) -> BTreeSet<Vec<String>> {
        c.tree
            .as_hash_tree()
            .list_paths()
            .iter()
            .map(|p| p.iter().map(|l| hex::encode(l.as_bytes())).collect())
            .collect()
    }

    fn rebuilt(c: &Certified, s: &impl ContentSource) {
        let fresh = Certified::build(s, false);
        assert!(
            entries(c) == entries(&fresh),
            "an update certifies what a rebuild does"
        );
        assert_eq!(c.pages, fresh.pages);
    }

    fn change(
        c: &mut Certified,
        s: &mut Store<DefaultMemoryImpl>,
        ids: &[&str],
        f: impl FnOnce(&mut Store<DefaultMemoryImpl>),
    ) {
        let ids: BTreeSet<String> = ids.iter().map(|i| i.to_string()).collect();
        let subjects_of = |s: &Store<DefaultMemoryImpl>| -> BTreeSet<String> {
            ids.iter()
                .filter_map(|i| s.unit(i).map(|u| u.subject))
                .collect()
        };
        let mut subjects = subjects_of(s);
        f(s);
        subjects.extend(subjects_of(s));
        c.update(s, &ids, &subjects);
    }

    #[test]
    fn every_response_is_certified_and_nothing_else() {
        let s = store(
            [
                units("a", "Algebra", 45),
                units("b", "Biology & Life", 3),
                units("c", "A/B", 1),
            ]
            .concat(),
        );
        let c = Certified::build(&s, false);
        assert_eq!(c.pages_of("Algebra").unwrap().len(), 3);
        assert_all_certified(&c, &s);

        // A tampered body, status or header is not in the tree.
        let Answer::Certified {
            response,
            tree_path,
            request_path,
        } = c.answer(&s, &get("/units/a0001"))
        else {
            unreachable!()
        };
        let mut body = response.body().to_vec();
        body[10] ^= 1;
        let tampered = CertResponse::builder()
            .with_status_code(response.status_code())
            .with_headers(response.headers().to_vec())
            .with_body(body)
            .build();
        assert!(!entry_is_proven(&c, &tampered, &tree_path, &request_path));
        let mut headers = response.headers().to_vec();
        headers.retain(|(n, _)| n != "Cache-Control");
        headers.push(("Cache-Control".into(), "public, max-age=31536000".into()));
        let recached = CertResponse::builder()
            .with_status_code(response.status_code())
            .with_headers(headers)
            .with_body(response.body().to_vec())
            .build();
        assert!(!entry_is_proven(&c, &recached, &tree_path, &request_path));
        // Another unit's body at this path is not certified either.
        let Answer::Certified {
            response: other, ..
        } = c.answer(&s, &get("/units/a0002"))
        else {
            unreachable!()
        };
        assert!(!entry_is_proven(&c, &other, &tree_path, &request_path));
        // A 404 at an existing unit's path does not verify (its exact path exists).
        let wildcard = HttpCertificationPath::wildcard("/");
        assert!(c
            .witness(&http::not_found(), &wildcard, "/units/a0001")
            .is_ok());
        assert!(!entry_is_proven(
            &c,
            &http::not_found(),
            &HttpCertificationPath::exact("/units/a0001"),
            "/units/a0001"
        ));

        // Served with the data certificate: the IC-Certificate header names the exact path.
        let r = c.serve(&s, &get("/units/a0001"), Some(b"cert"), |_| unreachable!());
        let cert = r
            .headers
            .iter()
            .find(|(n, _)| n == "IC-Certificate")
            .unwrap();
        assert!(
            cert.1.starts_with("certificate=:Y2VydA==:, tree=:"),
            "{}",
            cert.1
        );
        assert!(r
            .headers
            .iter()
            .any(|(n, v)| n == "IC-CertificateExpression"
                && v.contains("certified_response_headers")));
        let plain = c.serve(&s, &get("/units/a0001"), None, |_| unreachable!());
        assert!(plain.headers.iter().all(|(n, _)| n != "IC-Certificate"));
    }

    #[test]
    fn metrics_are_served_with_certification_skipped() {
        let s = store(units("a", "Algebra", 2));
        let without = Certified::build(&s, false);
        assert!(
            certifies(&without, &s, &get("/metrics")),
            "an unknown path until routed"
        );
        let c = Certified::build(&s, true);
        assert_ne!(c.root_hash(), without.root_hash());
        assert!(matches!(c.answer(&s, &get("/metrics")), Answer::Skipped));
        let served = c.serve(&s, &get("/metrics?x=1"), Some(b"cert"), |_| HttpResponse {
            status_code: 200,
            headers: vec![("Content-Type".into(), "text/plain; version=0.0.4".into())],
            body: ByteBuf::from(b"up 1\n".to_vec()),
            upgrade: None,
        });
        assert_eq!(served.body.as_slice(), b"up 1\n");
        let expr = served
            .headers
            .iter()
            .find(|(n, _)| n == "IC-CertificateExpression")
            .unwrap();
        assert_eq!(expr.1, DefaultCelBuilder::skip_certification().to_string());
        assert!(served.headers.iter().any(|(n, _)| n == "IC-Certificate"));
        // The skip entry is in this tree.
        let entry = HttpCertificationTreeEntry::new(
            HttpCertificationPath::exact("/metrics"),
            HttpCertification::skip(),
        );
        let witness = c.tree.witness(&entry, "/metrics").unwrap();
        assert_eq!(witness.digest(), c.root_hash());
        assert_all_certified(&c, &s);
    }

    #[test]
    fn updates_equal_a_rebuild_after_every_kind_of_change() {
        let mut s = store([units("m", "Math", 41), units("h", "History", 3)].concat());
        let mut c = Certified::build(&s, false);
        // Appended at the end: a new page.
        change(&mut c, &mut s, &["m9000"], |s| {
            s.add_units(vec![input("m9000", "Math", &[2])])
        });
        rebuilt(&c, &s);
        assert_eq!(c.pages_of("Math").unwrap().len(), 3);
        // Inserted in the middle, and a new subject.
        change(&mut c, &mut s, &["m0010x", "n1"], |s| {
            s.add_units(vec![
                input("m0010x", "Math", &[2]),
                input("n1", "New", &[2]),
            ])
        });
        rebuilt(&c, &s);
        // Updated in place (a longer body), then moved to another subject.
        let mut longer = input("m0005", "Math", &[2, 2, 2]);
        longer.unit.body.push_str(&"x".repeat(5000));
        change(&mut c, &mut s, &["m0005"], |s| s.replace_unit(longer));
        rebuilt(&c, &s);
        change(&mut c, &mut s, &["m0006"], |s| {
            s.replace_unit(input("m0006", "History", &[2]))
        });
        rebuilt(&c, &s);
        // Retired: the last unit of a page (the page goes, the previous page's next is null),
        // the only unit of a subject (the subject goes), and the first unit.
        let pages = c.pages_of("Math").unwrap().clone();
        let last_page: Vec<&str> = pages.last().unwrap().iter().map(String::as_str).collect();
        change(&mut c, &mut s, &last_page, |s| {
            for id in &last_page {
                s.retire_unit(id, "r", 1)
            }
        });
        rebuilt(&c, &s);
        assert_eq!(c.pages_of("Math").unwrap().len(), pages.len() - 1);
        let end = http::page_url("Math", pages.len() - 2);
        let Answer::Certified { response, .. } = c.answer(&s, &get(&end)) else {
            unreachable!()
        };
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(response.body()).unwrap()["next"],
            serde_json::Value::Null
        );
        change(&mut c, &mut s, &["n1", "m0000"], |s| {
            s.retire_unit("n1", "r", 1);
            s.retire_unit("m0000", "r", 1);
        });
        rebuilt(&c, &s);
        assert!(c.pages_of("New").is_none());
        assert_all_certified(&c, &s);
        for gone in ["/units/n1", "/units/m0000", "/subjects/New/units/0"] {
            let Answer::Certified { response, .. } = c.answer(&s, &get(gone)) else {
                unreachable!()
            };
            assert_eq!(response.status_code().as_u16(), 404, "{gone}");
        }
    }

    /// Counts the units read, to show the work of an update.
    struct Counting<'a> {
        store: &'a Store<DefaultMemoryImpl>,
        reads: Cell<usize>,
    }

    impl ContentSource for Counting<'_> {
        fn subjects(&self) -> Vec<String> {
            self.store.subjects()
        }
        fn unit(&self, id: &str) -> Option<Unit> {
            self.reads.set(self.reads.get() + 1);
            self.store.unit(id)
        }
        fn subject_unit_ids(&self, subject: &str) -> Vec<String> {
            self.store.subject_unit_ids(subject)
        }
    }

    #[test]
    fn an_update_reads_the_changed_pages_only() {
        let mut s = store([units("m", "Math", 1000), units("h", "History", 1000)].concat());
        let mut c = Certified::build(&s, false);
        let count = |s: &Store<DefaultMemoryImpl>, c: &mut Certified, ids: &[String]| {
            let counting = Counting {
                store: s,
                reads: Cell::new(0),
            };
            let ids: BTreeSet<String> = ids.iter().cloned().collect();
            let subjects = ids
                .iter()
                .filter_map(|i| s.unit(i).map(|u| u.subject))
                .collect();
            c.update(&counting, &ids, &subjects);
            counting.reads.get()
        };
        // 50 units appended to a 1,000-unit subject: the last page (20 units) and the new ones.
        let added = units("m9", "Math", 50);
        let ids: Vec<String> = added.iter().map(|u| u.unit.id.clone()).collect();
        s.add_units(added);
        assert_eq!(count(&s, &mut c, &ids), PAGE_SIZE + 50);
        // One unit updated in place: its page to the subject's end (here the last page).
        s.replace_unit(input("h0985", "History", &[4]));
        assert_eq!(count(&s, &mut c, &["h0985".to_string()]), PAGE_SIZE);
        rebuilt(&c, &s);
    }
}
