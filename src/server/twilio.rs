//! Twilio's inbound-message webhook: its form, its signature and TwiML.
//!
//! Twilio signs each request with the account's auth token: HMAC-SHA1 over
//! the full URL it requested followed by every POST parameter's name and
//! value, sorted by name, base64-encoded in `X-Twilio-Signature`. The answer
//! is TwiML whose `<Message>`s Twilio sends back to the customer.

use crate::engine::event::Inbound;
use crate::vocab::Channel;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use std::collections::HashMap;

/// Twilio auth tokens by tenant. They sign requests, so they are kept as
/// given, not hashed.
#[derive(Clone, Debug, Default)]
pub struct AuthTokens {
    by_tenant: HashMap<String, String>,
}

impl AuthTokens {
    /// Reads `TENANT AUTH_TOKEN` lines (`#` comments).
    pub fn parse_file(text: &str) -> Result<AuthTokens, String> {
        let mut tokens = AuthTokens::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(tenant), Some(token), None) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("line {}: expected `TENANT AUTH_TOKEN`", n + 1));
            };
            tokens.by_tenant.insert(tenant.into(), token.into());
        }
        Ok(tokens)
    }

    /// Adds `tenant=token` pairs, comma-separated.
    pub fn add_pairs(&mut self, pairs: &str) -> Result<(), String> {
        for pair in pairs.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (tenant, token) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not tenant=auth_token"))?;
            self.by_tenant
                .insert(tenant.trim().into(), token.trim().into());
        }
        Ok(())
    }

    pub fn of(&self, tenant: &str) -> Option<&str> {
        self.by_tenant.get(tenant).map(String::as_str)
    }
}

/// The signature Twilio sends for `url` and `params` under `auth_token`.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `presented` is the signature of the request, compared in
/// constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], presented: &str) -> bool {
    match base64::engine::general_purpose::STANDARD.decode(presented) {
        Ok(presented) => mac(auth_token, url, params)
            .verify_slice(&presented)
            .is_ok(),
        Err(_) => false,
    }
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The inbound event a webhook's form describes, or what is missing.
pub fn inbound(params: &[(String, String)], at: DateTime<Utc>) -> Result<Inbound, String> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let required = |name: &str| get(name).ok_or_else(|| format!("the form has no `{name}`"));
    let media: u32 = match get("NumMedia") {
        Some(n) => n
            .parse()
            .map_err(|_| format!("`NumMedia` is not a count: {n:?}"))?,
        None => 0,
    };
    // Twilio writes a WhatsApp sender and recipient as `whatsapp:+1...`.
    let (from, to) = (required("From")?, required("To")?);
    let channel = match (whatsapp(from), whatsapp(to)) {
        (Some(from), Some(to)) => (Channel::Whatsapp, from, to),
        (None, None) if media > 0 => (Channel::Mms, from, to),
        (None, None) => (Channel::Sms, from, to),
        _ => {
            return Err(format!(
                "`From` ({from}) and `To` ({to}) must both be WhatsApp addresses, or neither"
            ))
        }
    };
    let (channel, from, to) = channel;
    Ok(Inbound {
        at,
        from: from.into(),
        to: to.into(),
        body: get("Body").unwrap_or("").to_string(),
        channel,
        customer: Default::default(),
        message_id: Some(required("MessageSid")?.into()),
    })
}

/// The number in a WhatsApp address (`whatsapp:+14155550100`).
fn whatsapp(address: &str) -> Option<&str> {
    address.strip_prefix("whatsapp:")
}

/// TwiML carrying a decision's messages. A message to someone other than
/// the sender, or from another number than the one texted, names them.
pub fn twiml(decision: &Value, inbound: &Inbound) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>");
    for message in decision["messages"].as_array().into_iter().flatten() {
        let (to, from) = (message["to"].as_str(), message["from"].as_str());
        out.push_str("<Message");
        let prefix = match message["channel"].as_str() {
            Some("whatsapp") => "whatsapp:",
            _ => "",
        };
        if let Some(to) = to.filter(|t| *t != inbound.from.as_str()) {
            out.push_str(&format!(" to=\"{prefix}{}\"", escape(to)));
        }
        if let Some(from) = from.filter(|f| *f != inbound.to.as_str()) {
            out.push_str(&format!(" from=\"{prefix}{}\"", escape(from)));
        }
        out.push('>');
        out.push_str(&escape(message["text"].as_str().unwrap_or("")));
        out.push_str("</Message>");
    }
    out.push_str("</Response>");
    out
}

/// An empty TwiML answer: nothing to send.
pub fn empty() -> String {
    String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // The engine sends none of these; a document that carried one
            // would not be XML.
            c if !crate::vocab::is_sendable(c) => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from Twilio's security documentation.
    #[test]
    fn signs_like_twilio() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let token = "12345";
        let expected = signature(token, url, &params);
        assert_eq!(expected, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(verify(token, url, &params, &expected));
        assert!(!verify("54321", url, &params, &expected));
        assert!(!verify(token, url, &params, "not base64!"));
    }

    #[test]
    fn twiml_escapes_text() {
        let inbound = inbound(
            &[
                ("From".into(), "+1555".into()),
                ("To".into(), "+1666".into()),
                ("MessageSid".into(), "SM1".into()),
            ],
            Utc::now(),
        )
        .unwrap();
        let decision = serde_json::json!({"messages": [{"to": "+1555", "from": "+1666", "text": "a<b & \"c\"\u{7}"}]});
        assert_eq!(
            twiml(&decision, &inbound),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>a&lt;b &amp; &quot;c&quot;</Message></Response>"
        );
    }

    #[test]
    fn whatsapp_addresses_are_the_whatsapp_channel() {
        let form = |from: &str, to: &str| -> Vec<(String, String)> {
            vec![
                ("From".into(), from.into()),
                ("To".into(), to.into()),
                ("MessageSid".into(), "SM1".into()),
            ]
        };
        let e = inbound(
            &form("whatsapp:+14155551234", "whatsapp:+16285550300"),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(
            (e.from.as_str(), e.to.as_str()),
            ("+14155551234", "+16285550300")
        );
        assert_eq!(e.channel, Channel::Whatsapp);
        let mixed = inbound(&form("whatsapp:+14155551234", "+16285550300"), Utc::now());
        assert!(mixed.unwrap_err().contains("both be WhatsApp"));
        let decision = serde_json::json!({"messages": [
            {"to": "+14155551234", "from": "+16285550300", "channel": "whatsapp", "text": "hi"},
            {"to": "+14155550000", "from": "+16285550300", "channel": "whatsapp", "text": "fyi"},
        ]});
        assert_eq!(
            twiml(&decision, &e),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>hi</Message><Message to=\"whatsapp:+14155550000\">fyi</Message></Response>"
        );
    }
}
