//! `number +14155550100 { label "Main line"; channels sms mms; voice_queue "IVR" }`

use super::Lowerer;
use crate::diag::Spanned;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{Channel, NumberDecl};
use crate::syntax::document::Statement;

const EXAMPLE: &str = "number +14155550100 { channels sms mms }";
pub(super) const SETTINGS: &[&str] = &["label", "channels", "voice_queue"];

impl Lowerer {
    pub(crate) fn number(&mut self, s: &Statement) -> Option<NumberDecl> {
        let Some(first) = s.values.first() else {
            self.push(
                Diagnostic::new(
                    Code::WrongArity,
                    s.key.span,
                    "`number` needs the phone number",
                )
                .hint(format!("for example: {EXAMPLE}")),
            );
            return None;
        };
        let number = self.phone(first)?;
        self.no_more_values(s, 1, EXAMPLE);
        let mut decl = NumberDecl {
            number,
            label: None,
            channels: Vec::new(),
            voice_queue: None,
            span: s.span,
        };
        for setting in self.settings(s, "a number", SETTINGS, &[]) {
            match setting.key() {
                "label" => {
                    decl.label = self
                        .one(setting, "\"Main line\"")
                        .and_then(|v| self.string(v, "a label in quotes"))
                }
                "channels" => {
                    let values = self.some(setting, "sms mms whatsapp");
                    for v in values {
                        let Some(channel) = self.channel(v) else {
                            continue;
                        };
                        if decl.channels.iter().any(|c| c.value == channel.value) {
                            self.push(
                                Diagnostic::new(
                                    Code::RepeatedSetting,
                                    channel.span,
                                    format!("channel `{}` is listed twice", channel.value.as_str()),
                                )
                                .hint("list each channel once"),
                            );
                            continue;
                        }
                        decl.channels.push(channel);
                    }
                }
                "voice_queue" => {
                    decl.voice_queue = self
                        .one(setting, "\"Support IVR\"")
                        .and_then(|v| self.string(v, "the voice queue's name in quotes"))
                }
                _ => {}
            }
        }
        if decl.channels.is_empty() {
            // A number with no channel list texts by SMS and MMS.
            decl.channels = vec![
                Spanned::new(Channel::Sms, decl.number.span),
                Spanned::new(Channel::Mms, decl.number.span),
            ];
        }
        Some(decl)
    }
}
