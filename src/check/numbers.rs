//! Number rules: declared, E.164 (checked in lowering), one inbox each; an
//! agent's direct number on no SMS queue; no number on two SMS queues. A
//! number that a voice/IVR queue answers may still sit on one SMS queue.

use super::Checker;
use crate::diag::Span;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::InboxKind;
use std::collections::HashMap;

impl Checker<'_> {
    pub(super) fn numbers(&mut self) {
        let ast = self.ast;
        // Number → (inbox index, where it was listed).
        let mut owner: HashMap<&str, (usize, Span)> = HashMap::new();
        for (index, inbox) in ast.inboxes.iter().enumerate() {
            for number in &inbox.numbers {
                if !self.symbols.numbers.contains_key(number.value.as_str()) {
                    self.push(
                        Diagnostic::new(
                            Code::UnknownNumber,
                            number.span,
                            format!("number {} is not declared", number.value),
                        )
                        .hint(format!(
                            "declare it with its channels: `number {} {{ channels sms mms }}`",
                            number.value
                        )),
                    );
                }
                let Some(&(first, first_span)) = owner.get(number.value.as_str()) else {
                    owner.insert(&number.value, (index, number.span));
                    continue;
                };
                if first == index {
                    self.push(
                        Diagnostic::new(
                            Code::RepeatedSetting,
                            number.span,
                            format!("number {} is listed twice", number.value),
                        )
                        .related(first_span, "listed before")
                        .hint("list each number once"),
                    );
                    continue;
                }
                let other = &ast.inboxes[first];
                let (code, message, hint) = match (other.kind.value, inbox.kind.value) {
                    (InboxKind::Direct, InboxKind::Queue) | (InboxKind::Queue, InboxKind::Direct) => (
                        Code::NumberOnAgentAndQueue,
                        format!("number {} is both an agent's direct number and on an SMS queue", number.value),
                        "a number assigned to an agent cannot be on an SMS queue; give the queue its own number",
                    ),
                    (InboxKind::Queue, InboxKind::Queue) => (
                        Code::NumberOnTwoQueues,
                        format!("number {} is on two SMS queues", number.value),
                        "a number can be on one SMS queue (and on a voice queue besides: `voice_queue` on the number)",
                    ),
                    _ => (
                        Code::NumberInTwoInboxes,
                        format!("number {} is in two inboxes", number.value),
                        "a number routes to one inbox; remove it from one of them",
                    ),
                };
                self.push(
                    Diagnostic::new(code, number.span, message)
                        .related(first_span, format!("also in inbox `{}`", other.name.value))
                        .hint(hint),
                );
            }
        }
    }
}
