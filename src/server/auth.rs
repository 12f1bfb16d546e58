//! Tenant API tokens, kept only as SHA-256 hashes.
//!
//! A tokens file has one `TENANT SHA256-HEX` per line (`#` comments); the
//! environment variable `SWITCHBOARD_TOKENS` may add plain `tenant=token`
//! pairs, separated by commas, which are hashed as they are read.

use sha2::{Digest, Sha256};
use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct Tokens {
    by_tenant: HashMap<String, Vec<[u8; 32]>>,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// Adds a plain token for a tenant (it is hashed at once).
    pub fn add(&mut self, tenant: &str, token: &str) {
        self.by_tenant
            .entry(tenant.to_string())
            .or_default()
            .push(hash(token));
    }

    /// Reads a tokens file: `tenant sha256-hex` per line.
    pub fn parse_file(text: &str) -> Result<Tokens, String> {
        let mut tokens = Tokens::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(tenant), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("line {}: expected `TENANT SHA256-HEX`", n + 1));
            };
            let bytes = decode_hex(hex)
                .ok_or_else(|| format!("line {}: the hash must be 64 hex digits", n + 1))?;
            tokens
                .by_tenant
                .entry(tenant.to_string())
                .or_default()
                .push(bytes);
        }
        Ok(tokens)
    }

    /// Adds `tenant=token` pairs, comma-separated.
    pub fn add_pairs(&mut self, pairs: &str) -> Result<(), String> {
        for pair in pairs.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (tenant, token) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not tenant=token"))?;
            self.add(tenant.trim(), token.trim());
        }
        Ok(())
    }

    /// Which tenant a bearer token belongs to, if any.
    pub fn tenant_of(&self, token: &str) -> Option<&str> {
        let presented = hash(token);
        self.by_tenant
            .iter()
            .find(|(_, hashes)| hashes.iter().any(|h| equal(h, &presented)))
            .map(|(tenant, _)| tenant.as_str())
    }
}

/// Compares without stopping at the first difference.
fn equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_file_and_pairs() {
        let mut t = Tokens::parse_file(
            "# comment\nacme 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\n",
        )
        .unwrap();
        assert_eq!(t.tenant_of("secret"), Some("acme"));
        t.add_pairs("other=hunter2").unwrap();
        assert_eq!(t.tenant_of("hunter2"), Some("other"));
        assert_eq!(t.tenant_of("nope"), None);
        assert!(Tokens::parse_file("acme zz").is_err());
    }
}
