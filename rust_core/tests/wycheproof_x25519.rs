//! Project Wycheproof X25519 vectors against `x25519::shared_secret`.
//!
//! "valid" cases must give the expected shared secret. "acceptable" cases
//! may either give it or be rejected; we reject exactly those whose result
//! is the all-zero secret (flag ZeroSharedSecret: a low-order public key,
//! RFC 7748 §6.1), and compute every other one, including twist points,
//! non-canonical u (≥ p) and u with the top bit set, as RFC 7748 §5 says.

mod common;

use common::{load, unhex};
use didrtc_core::{x25519, Error};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    #[serde(rename = "numberOfTests")]
    number_of_tests: usize,
    #[serde(rename = "testGroups")]
    test_groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    #[serde(rename = "tcId")]
    tc_id: u32,
    comment: String,
    public: String,
    private: String,
    shared: String,
    result: String,
    flags: Vec<String>,
}

#[test]
fn wycheproof_x25519() {
    let file: File = load("wycheproof_x25519_test.json");
    let (mut valid, mut acceptable_computed, mut acceptable_rejected) = (0, 0, 0);
    let mut total = 0;
    for case in file.test_groups.iter().flat_map(|g| &g.tests) {
        total += 1;
        let label = format!("tcId {} ({}; {:?})", case.tc_id, case.comment, case.flags);
        let expected = unhex(&case.shared);
        let result = x25519::shared_secret(&unhex(&case.private), &unhex(&case.public));
        let zero_shared = case.flags.iter().any(|f| f == "ZeroSharedSecret");
        assert_eq!(zero_shared, expected == [0u8; 32], "{label}");
        match case.result.as_str() {
            "valid" => {
                valid += 1;
                assert_eq!(result.map(|s| s.to_vec()), Ok(expected), "{label}");
            }
            "acceptable" if zero_shared => {
                acceptable_rejected += 1;
                assert!(
                    matches!(result, Err(Error::InvalidKey(_))),
                    "{label}: an all-zero shared secret must be rejected"
                );
            }
            "acceptable" => {
                acceptable_computed += 1;
                assert_eq!(result.map(|s| s.to_vec()), Ok(expected), "{label}");
            }
            other => panic!("{label}: unexpected result {other}"),
        }
    }
    assert_eq!(total, file.number_of_tests);
    eprintln!(
        "valid {valid}, acceptable computed {acceptable_computed}, acceptable rejected (zero shared secret) {acceptable_rejected}"
    );
    assert_eq!(valid, 264);
    assert_eq!(acceptable_computed + acceptable_rejected, 254);
}
