//! Helpers shared by the integration tests: vector loading and hex.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

use serde::de::DeserializeOwned;

/// Parses `tests/vectors/<name>` (copied from the project's shared vectors;
/// see tests/vectors/SOURCES.md).
pub fn load<T: DeserializeOwned>(name: &str) -> T {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

pub fn unhex32(s: &str) -> [u8; 32] {
    unhex(s).try_into().unwrap_or_else(|v: Vec<u8>| {
        panic!("expected 32 bytes, got {}", v.len());
    })
}
