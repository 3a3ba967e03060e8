//! didrtc's cryptographic core.
//!
//! Plain-Rust modules, one concept each and free of PyO3, plus `python`,
//! the thin PyO3 layer that exposes them as `didrtc._core` (the contract is
//! `python/didrtc/_core.pyi`). All primitives come from audited crates
//! (ed25519-dalek, x25519-dalek, curve25519-dalek, hpke, sha2, bs58); this
//! crate only composes them and pins down their edge cases.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod dht_key;
pub mod did_key;
pub mod ed25519;
pub mod error;
pub mod hpke;
pub mod x25519;

mod python;

pub use error::{Error, Result};
