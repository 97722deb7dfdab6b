//! Email: rendering a template for one contact (`render.rs`), handing messages to an SMTP
//! server (`smtp.rs`), the signed tokens of the links emails carry (`token.rs`), and what a
//! message that comes back is (`inbound.rs`: reply, automatic answer, bounce).

pub mod address;
pub mod inbound;
pub mod render;
pub mod smtp;
pub mod token;

/// Lower-case hexadecimal of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// SHA-256 of a text, in hexadecimal.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}
