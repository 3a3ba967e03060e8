//! The PyO3 glue: `didrtc._core`. Argument conversion, the GIL, and the one
//! `From<Error> for PyErr`; no cryptography happens here.
//!
//! Exceptions are the classes of `didrtc.errors`, imported (never defined
//! here) so that `except didrtc.InvalidSignature` catches the same class
//! whichever backend raised it.

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::marker::Ungil;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use crate::dht_key as dht;
use crate::error::Error;
use crate::{did_key, ed25519, hpke, x25519};

pyo3::import_exception!(didrtc.errors, InvalidKey);
pyo3::import_exception!(didrtc.errors, InvalidSignature);
pyo3::import_exception!(didrtc.errors, DecryptionError);
pyo3::import_exception!(didrtc.errors, UnsupportedDidMethod);
pyo3::import_exception!(didrtc.errors, UnsupportedMultibase);
pyo3::import_exception!(didrtc.errors, InvalidBase58);
pyo3::import_exception!(didrtc.errors, UnsupportedMulticodec);
pyo3::import_exception!(didrtc.errors, InvalidDidKeyLength);

impl From<Error> for PyErr {
    fn from(error: Error) -> PyErr {
        let message = error.to_string();
        match error {
            Error::InvalidKey(_) => InvalidKey::new_err(message),
            Error::InvalidSignature(_) => InvalidSignature::new_err(message),
            Error::Decryption(_) => DecryptionError::new_err(message),
            Error::UnsupportedDidMethod { .. } => UnsupportedDidMethod::new_err(message),
            Error::UnsupportedMultibase { .. } => UnsupportedMultibase::new_err(message),
            Error::InvalidBase58 { .. } => InvalidBase58::new_err(message),
            Error::UnsupportedMulticodec { .. } => UnsupportedMulticodec::new_err(message),
            Error::InvalidDidKeyLength { .. } => InvalidDidKeyLength::new_err(message),
            Error::InvalidInput(_) => PyValueError::new_err(message),
            Error::Randomness(_) => PyOSError::new_err(message),
            Error::Internal(_) => PyRuntimeError::new_err(message),
        }
    }
}

/// Inputs above this size are processed with the GIL released: below it,
/// releasing and re-taking the GIL costs about as much as the work.
const DETACH_ABOVE_BYTES: usize = 4 * 1024;

/// Runs `f` without the GIL when `size` is large enough to be worth it. The
/// byte slices `f` borrows are from immutable `bytes` objects kept alive by
/// the caller's frame, so they stay valid while detached.
fn maybe_detach<T, F>(py: Python<'_>, size: usize, f: F) -> T
where
    F: Ungil + FnOnce() -> T,
    T: Ungil,
{
    if size > DETACH_ABOVE_BYTES {
        py.detach(f)
    } else {
        f()
    }
}

/// An Ed25519 signing key whose secret stays in Rust memory and is zeroized on drop.
// Invariant: the seed exists only inside `key` (see ed25519::SigningKey);
// `frozen` (no mutation, no __dict__), no pickling and no subclass hooks,
// so Python code cannot copy it out except through `seed()`.
#[pyclass(frozen, module = "didrtc._core", name = "SigningKey")]
struct PySigningKey {
    key: ed25519::SigningKey,
}

#[pymethods]
impl PySigningKey {
    /// Build the key from its 32-byte RFC 8032 seed; other lengths raise ``InvalidKey``.
    #[new]
    fn new(seed: &[u8]) -> PyResult<Self> {
        Ok(Self {
            key: ed25519::SigningKey::from_seed(seed)?,
        })
    }

    /// A new key from the operating system's CSPRNG.
    #[staticmethod]
    fn generate() -> PyResult<Self> {
        Ok(Self {
            key: ed25519::SigningKey::generate()?,
        })
    }

    /// The 32-byte Ed25519 public key.
    fn public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.public_key())
    }

    /// The 32-byte seed, for writing an identity file. Treat the result as secret.
    fn seed<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        // The Rust copy is wiped on drop; the Python copy is the caller's.
        PyBytes::new(py, self.key.seed().as_slice())
    }

    /// The 64-byte deterministic Ed25519 signature of ``message``.
    fn sign<'py>(&self, py: Python<'py>, message: &[u8]) -> Bound<'py, PyBytes> {
        let signature = maybe_detach(py, message.len(), || self.key.sign(message));
        PyBytes::new(py, &signature)
    }

    /// The X25519 public key derived as did:key derives it (Edwards-to-Montgomery map).
    fn x25519_public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &x25519::public_from_signing_key(&self.key))
    }

    /// The X25519 secret key: clamped SHA-512(seed)[:32]. Treat the result as secret.
    fn x25519_secret<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, x25519::secret_from_signing_key(&self.key).as_slice())
    }

    /// Shows the public key only, as the Python backend does.
    fn __repr__(&self) -> String {
        let hex: String = self
            .key
            .public_key()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("SigningKey(public_key={hex})")
    }

    /// Open an HPKE base-mode ciphertext sealed to this key's X25519 public key.
    fn hpke_open<'py>(
        &self,
        py: Python<'py>,
        enc: &[u8],
        ciphertext: &[u8],
        info: &[u8],
        aad: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let plaintext = maybe_detach(py, ciphertext.len(), || {
            let secret = x25519::secret_from_signing_key(&self.key);
            hpke::open(secret.as_slice(), enc, ciphertext, info, aad)
        })?;
        Ok(PyBytes::new(py, &plaintext))
    }
}

/// Strictly verify an Ed25519 signature (as ``verify_strict``) or raise.
#[pyfunction]
fn verify(py: Python<'_>, public_key: &[u8], message: &[u8], signature: &[u8]) -> PyResult<()> {
    maybe_detach(py, message.len(), || {
        ed25519::verify(public_key, message, signature)
    })?;
    Ok(())
}

/// Verify many ``(public_key, message, signature)`` triples at once or raise.
///
/// Accepts when ``verify`` accepts every triple. The one exception, documented
/// on the Rust ``ed25519::verify_batch``: a maliciously built triple whose R or
/// public key has a small-order component can pass the randomised batch
/// equation while strict verification rejects it. The error names the 0-based
/// index of the first bad triple; an empty sequence is accepted.
#[pyfunction]
fn verify_batch(
    py: Python<'_>,
    items: Vec<(PyBackedBytes, PyBackedBytes, PyBackedBytes)>,
) -> PyResult<()> {
    // PyBackedBytes keeps each bytes object alive without the GIL, so the
    // whole batch runs detached.
    py.detach(|| ed25519::verify_batch(&items))?;
    Ok(())
}

/// The ``did:key`` of an Ed25519 public key (multibase base58btc, multicodec 0xed01).
#[pyfunction]
fn did_from_public_key(public_key: &[u8]) -> PyResult<String> {
    Ok(did_key::did_from_public_key(public_key)?)
}

/// The Ed25519 public key inside a ``did:key``; each malformation has its own error.
#[pyfunction]
fn public_key_from_did<'py>(py: Python<'py>, did: &str) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &did_key::public_key_from_did(did)?))
}

/// Map an Ed25519 public key to its X25519 public key; small-order keys raise ``InvalidKey``.
#[pyfunction]
fn x25519_public_from_ed25519<'py>(
    py: Python<'py>,
    public_key: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &x25519::public_from_ed25519(public_key)?))
}

/// The X25519 public key of a 32-byte secret (RFC 7748 scalar multiplication by 9).
#[pyfunction]
fn x25519_public_key<'py>(py: Python<'py>, secret: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &x25519::public_key(secret)?))
}

/// RFC 7748 X25519; an all-zero result (low-order peer key) raises ``InvalidKey``.
#[pyfunction]
fn x25519_shared_secret<'py>(
    py: Python<'py>,
    secret: &[u8],
    public_key: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let shared = x25519::shared_secret(secret, public_key)?;
    Ok(PyBytes::new(py, shared.as_slice()))
}

/// HPKE base-mode single-shot seal, DHKEM(X25519, HKDF-SHA256)/HKDF-SHA256/AES-128-GCM.
///
/// Returns ``(enc, ciphertext)``: the 32-byte encapsulated key and the sealed bytes.
#[pyfunction]
fn hpke_seal<'py>(
    py: Python<'py>,
    recipient_public_key: &[u8],
    plaintext: &[u8],
    info: &[u8],
    aad: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let (enc, ciphertext) = maybe_detach(py, plaintext.len(), || {
        hpke::seal(recipient_public_key, plaintext, info, aad)
    })?;
    Ok((PyBytes::new(py, &enc), PyBytes::new(py, &ciphertext)))
}

/// ``hpke_seal`` with the ephemeral key pair ``DeriveKeyPair(ikm_e)``, for test vectors only.
///
/// ``ikm_e`` must be 32 bytes (``InvalidKey`` otherwise).
#[pyfunction]
fn hpke_seal_deterministic<'py>(
    py: Python<'py>,
    recipient_public_key: &[u8],
    plaintext: &[u8],
    info: &[u8],
    aad: &[u8],
    ikm_e: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let (enc, ciphertext) = maybe_detach(py, plaintext.len(), || {
        hpke::seal_deterministic(recipient_public_key, plaintext, info, aad, ikm_e)
    })?;
    Ok((PyBytes::new(py, &enc), PyBytes::new(py, &ciphertext)))
}

/// Open an HPKE base-mode ciphertext with a raw 32-byte X25519 secret key.
#[pyfunction]
fn hpke_open<'py>(
    py: Python<'py>,
    recipient_secret: &[u8],
    enc: &[u8],
    ciphertext: &[u8],
    info: &[u8],
    aad: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let plaintext = maybe_detach(py, ciphertext.len(), || {
        hpke::open(recipient_secret, enc, ciphertext, info, aad)
    })?;
    Ok(PyBytes::new(py, &plaintext))
}

/// The 20-byte DHT key of a did:key: SHA-256(b"didrtc/dht-key/v1" || 0x00 || did)[:20].
///
/// The DID is validated first, so a malformed DID raises ``InvalidDid``.
#[pyfunction]
fn dht_key<'py>(py: Python<'py>, did: &str) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &dht::dht_key(did)?))
}

/// didrtc's cryptographic core, written in Rust (``rust_core/``).
///
/// Users import :mod:`didrtc`, never this module; ``didrtc._pycore`` implements
/// the same names on ``cryptography`` and ``pyhpke``.
#[pymodule(name = "_core")]
mod core_module {
    use super::*;

    #[pymodule_export]
    use super::{
        dht_key, did_from_public_key, hpke_open, hpke_seal, hpke_seal_deterministic,
        public_key_from_did, verify, verify_batch, x25519_public_from_ed25519, x25519_public_key,
        x25519_shared_secret, PySigningKey,
    };

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("BACKEND", "rust")?;
        Ok(())
    }
}
